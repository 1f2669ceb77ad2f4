"""The parent run that groups a sweep's trials, and how a trial points at it."""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING

from mlrun_cli._system import current_user, hostname
from mlrun_cli.tracking import models

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlrun_cli.execution.runner import Prepared, RunRequest
    from mlrun_cli.tracking.models import Experiment, Run
    from mlrun_cli.tracking.store import TrackingStore

SWEEP_TAG = "mlrun.sweep"
PARENT_TAG = "mlrun.parent_run_id"
KIND_TAG = "mlrun.sweep.kind"
BEST_TAG = "mlrun.sweep.best_run_id"


def trial_tags(parent_run_id: str, sweep_key: str) -> tuple[tuple[str, str], ...]:
    """The tags a trial carries to name its sweep and parent run (the runner also records
    the parent as the trial's ``parent_run_id``, so ``--filter "parent_run_id = '...'"``
    lists a sweep's trials)."""
    return ((SWEEP_TAG, sweep_key), (PARENT_TAG, parent_run_id))


def sweep_key(request: RunRequest, prepared: Prepared, definition: dict[str, object]) -> str:
    """Identifies a sweep across reruns: the code and the sweep's definition."""
    code = prepared.checkout.code
    text = json.dumps(
        {
            "code": [code.commit, code.snapshot_sha256, code.content_hash, code.subdirectory],
            "entry_point": request.entry_point,
            **definition,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def create_parent(
    store: TrackingStore,
    experiment: Experiment,
    request: RunRequest,
    prepared: Prepared,
    key: str,
    kind: str,
    described: Sequence[tuple[str, str]],
    command: str,
) -> Run:
    """A RUNNING run standing for the sweep: its params are the swept forms as given."""
    from mlrun_cli.tracking.ingest import process_start_marker
    from mlrun_cli.tracking.names import generate_run_name

    spec = models.RunCreate(
        experiment_id=experiment.experiment_id,
        name=request.run_name or f"sweep-{generate_run_name()}",
        entry_point=request.entry_point,
        command=command,
        code=prepared.checkout.code,
        params=tuple(models.Param(name, value, None) for name, value in described),
        tags=((SWEEP_TAG, key), (KIND_TAG, kind)),
        user=current_user(),
        host=hostname(),
        pid=os.getpid(),
        pid_start=process_start_marker(os.getpid()),
    )
    return store.create_run(spec)


def previous_parent(store: TrackingStore, experiment_id: str, key: str, current: str) -> Run | None:
    """The newest earlier parent run of the same sweep (for Optuna's study), if any."""
    from mlrun_cli.tracking.queries import search_runs

    where = f"tags.`{SWEEP_TAG}` = '{key}' and tags.`{KIND_TAG}` = 'optuna'"
    for run in search_runs(store, [experiment_id], where, max_results=20).runs:
        if run.run_id != current and PARENT_TAG not in run.tags:
            return run
    return None


def finish_parent(store: TrackingStore, parent: Run, status: str, reason: str | None) -> None:
    """End the parent run (FINISHED, FAILED or KILLED)."""
    store.finish_run(parent.run_id, status, None, reason)


def record_best(store: TrackingStore, parent: Run, best: object, metric: str) -> None:
    """The best trial on the parent: its metric value and ``mlrun.sweep.best_run_id``."""
    from mlrun_cli.sweep.trials import TrialResult
    from mlrun_cli.tracking.models import EventBatch, Metric
    from mlrun_cli.tracking.sqlite import now_ms

    assert isinstance(best, TrialResult)  # noqa: S101 - typed loosely for lazy imports
    value = best.metric(metric)
    if best.run is None or value is None:
        return
    batch = EventBatch(metrics=(Metric(metric, value, 0, now_ms()),),
                       tags=((BEST_TAG, best.run.run_id),))  # fmt: skip
    store.log_batch(parent.run_id, batch)
