"""One trial of a sweep: its parameters bound on the shared checkout and env, run as a run."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrun_cli.tracking import models

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager

    from mlrun_cli.execution.runner import Prepared, RunRequest
    from mlrun_cli.spec.mlproject import EntryPoint
    from mlrun_cli.tracking.models import Experiment, Run
    from mlrun_cli.tracking.store import StoreLocation

SKIPPED = "SKIPPED"  # not started: the sweep was stopped first


@dataclass(frozen=True)
class TrialResult:
    """How one trial ended: its run (None if it never started) and whether it was reused."""

    index: int
    params: dict[str, str]
    run: Run | None
    reused: bool = False
    error: str | None = None

    @property
    def status(self) -> str:
        """The run's status, or SKIPPED / FAILED for a trial without a run."""
        if self.run is not None:
            return self.run.status
        return models.FAILED if self.error else SKIPPED

    def metric(self, key: str | None) -> float | None:
        """The trial's latest value of ``key`` (None: no such metric, or the run failed)."""
        if key is None or self.run is None or self.run.status != models.FINISHED:
            return None
        metric = self.run.metrics.get(key)
        return None if metric is None else metric.value


def as_items(params: dict[str, str]) -> tuple[str, ...]:
    """``{"alpha": "0.1"}`` -> ``("alpha=0.1",)``."""
    return tuple(f"{name}={value}" for name, value in params.items())


class QuietReporter:
    """A trial's reporter: no per-trial chatter; each distinct warning once per sweep."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        self._warn = warn
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def info(self, message: str) -> None:
        """Dropped: the sweep's progress line says what matters."""

    def warn(self, message: str) -> None:
        """Passed on once."""
        with self._lock:
            if message in self._seen:
                return
            self._seen.add(message)
        self._warn(message)

    def progress(self, title: str) -> AbstractContextManager[Callable[[str], None]]:
        """No spinner per trial."""
        import contextlib

        @contextlib.contextmanager
        def silent() -> Iterator[Callable[[str], None]]:
            yield lambda _step: None

        return silent()


@dataclass(frozen=True)
class TrialContext:
    """What every trial of one sweep shares."""

    base: Prepared
    entry_point: EntryPoint
    request: RunRequest
    experiment: Experiment
    location: StoreLocation
    tags: tuple[tuple[str, str], ...]
    reporter: QuietReporter
    reuse: bool
    name_prefix: str


def trial_request(context: TrialContext, index: int, params: dict[str, str]) -> RunRequest:
    """The run request of one trial (its output goes to its log only)."""
    return dataclasses.replace(
        context.request,
        params=as_items(params),
        run_name=f"{context.name_prefix}-{index + 1}",
        echo=False,
        stdout_to_stderr=False,
    )


def trial_prepared(context: TrialContext, params: dict[str, str]) -> Prepared:
    """The shared preparation with this trial's parameters bound (no new checkout or env)."""
    from mlrun_cli.spec.params import bind_params

    base = context.base
    values = dict(params)
    if base.inputs is not None:
        values.update(base.inputs.local_values())
    bound = bind_params(context.entry_point, values, user_cwd=context.request.cwd,
                        project_dir=base.checkout.path, strict=context.request.strict)  # fmt: skip
    return dataclasses.replace(base, bound=bound)


def run_local_trial(
    context: TrialContext, index: int, params: dict[str, str], stop: threading.Event
) -> TrialResult:
    """Run one trial on this machine (reused when a FINISHED run has its fingerprint)."""
    from mlrun_cli.errors import MlrunError
    from mlrun_cli.execution.runner import launch, run_fingerprint
    from mlrun_cli.tracking.store import open_location

    if stop.is_set():
        return TrialResult(index, params, None)
    request = trial_request(context, index, params)
    try:
        prepared = trial_prepared(context, params)
        store = open_location(context.location)
    except MlrunError as exc:
        return TrialResult(index, params, None, error=str(exc))
    try:
        if context.reuse:
            fingerprint = run_fingerprint(request, prepared)
            done = store.find_finished_run(context.experiment.experiment_id, fingerprint)
            if done is not None:
                return TrialResult(index, params, done, reused=True)
        if stop.is_set():
            return TrialResult(index, params, None)
        result = launch(store, prepared, request, context.experiment, context.reporter,
                        extra_tags=context.tags)  # fmt: skip
        return TrialResult(index, params, result.run)
    except MlrunError as exc:
        return TrialResult(index, params, None, error=str(exc))
    finally:
        store.close()
