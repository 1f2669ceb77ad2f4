"""Runs on a backend: build the worker's ``mlrun run`` command, submit, follow, reconcile.

The store is the source of truth: the worker's mlrun records the run (id fixed here) and ends
it. The engine says whether the job still lives: a job that ended while its run is still
RUNNING (cancelled outside mlrun, node died) or never started it leaves the run FAILED with the
engine's reason. With a team server and a token, each job carries a token the server minted
for its run only (``tokens.py``), never the user's.
"""

from __future__ import annotations

import sys
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun_cli.backends.base import Job, JobState, get_backend, load_config, write_record
from mlrun_cli.backends.follow import Submitted, wait_for
from mlrun_cli.backends.tokens import TOKEN_ENV, run_token, ttl_of

__all__ = [  # wait_for and Submitted: from follow.py, where cli/remote.py finds them
    "Submitted",
    "Target",
    "absolute_paths",
    "check_locally",
    "job_pin",
    "make_job",
    "preflight",
    "remote_trial_runner",
    "submit",
    "submit_run",
    "target",
    "uploads_code",
    "wait_for",
    "worker_argv",
    "worker_source",
]

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.backends.base import Backend
    from mlrun_cli.execution.runner import Prepared, Reporter, RunRequest
    from mlrun_cli.source.local import Checkout
    from mlrun_cli.spec.mlproject import EntryPoint
    from mlrun_cli.sweep.controller import SweepRequest
    from mlrun_cli.sweep.trials import TrialContext, TrialResult
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import StoreLocation, TrackingStore


def worker_source(checkout: Checkout, uploaded: bool = False) -> tuple[str, ...]:
    """The URI (and ``--version``) a worker runs: the same code the submitter resolved. A git
    remote is cloned at the commit; otherwise the worker runs the copy its engine uploaded
    (``uploaded``: the job's working directory, ``submitted.py``) or, on a shared filesystem,
    the submitter's folder."""
    from mlrun_cli.backends.submitted import FLAG, project_subdir

    code = checkout.code
    if code.kind == "git" and code.commit:
        return (
            "run",
            code.uri + (f"#{code.subdirectory}" if code.subdirectory else ""),
            "--version",
            code.commit,
        )
    if uploaded:
        return (FLAG, "run", project_subdir(checkout) or ".")
    return ("run", str(checkout.path))


def uploads_code(backend: Backend, checkout: Checkout) -> bool:
    """Whether the job runs the copy of the project its engine uploads (Ray's working_dir)."""
    return bool(getattr(backend, "uploads_working_dir", False)) and checkout.code.kind != "git"


def worker_argv(
    request: RunRequest,
    checkout: Checkout,
    run_id: str,
    experiment_id: str,
    store_uri: str,
    extra_tags: tuple[tuple[str, str], ...] = (),
    uploaded: bool = False,
) -> tuple[str, ...]:
    """``python -m mlrun_cli.backends.worker [--submitted-code] run ...`` (mlrun, after taking
    the submitted code version)."""
    argv = [sys.executable, "-m", "mlrun_cli.backends.worker",
            *worker_source(checkout, uploaded), "-e", request.entry_point,
            "--env-manager", request.env_manager, "--experiment-id", experiment_id,
            "--tracking-uri", store_uri, "--run-id", run_id, "--dirty", request.dirty]  # fmt: skip
    for item in request.params:
        argv += ["-P", item]
    for key, value in extra_tags:
        argv += ["--tag", f"{key}={value}"]
    if request.run_name:
        argv += ["--run-name", request.run_name]
    if request.strict:
        argv.append("--strict")
    return tuple(argv)


@dataclass(frozen=True)
class Target:
    """Where a run's job goes and reports: the engine, the store (and its location)."""

    backend: Backend
    location: StoreLocation
    store: TrackingStore

    def job_token(
        self, run_id: str, experiment_id: str, pin: dict[str, Any] | None = None
    ) -> str | None:
        """The run-scoped token the job carries: for a job that does not inherit this
        environment (the local backend's does) and reports to a team server with auth;
        ``pin``: what its run's create must match."""
        if not getattr(self.backend, "needs_token", False):
            return None
        return run_token(self.store, self.location, run_id, experiment_id,
                         ttl_of(self.backend.config), pin)  # fmt: skip


def job_pin(
    request: RunRequest, checkout: Checkout, extra_tags: tuple[tuple[str, str], ...]
) -> dict[str, Any]:
    """What the submitter knows of the run its job will create: the server refuses a create by
    the job's token that differs (someone who took the token from the engine's dashboard)."""
    from mlrun_cli.sweep.parent import PARENT_TAG

    code = checkout.code
    params = dict(item.partition("=")[::2] for item in request.params)
    return {"entry_point": request.entry_point, "parent_run_id": dict(extra_tags).get(PARENT_TAG),
            "commit": code.commit if code.kind == "git" else None, "params": params}  # fmt: skip


def target(backend: Backend, location: StoreLocation, store: TrackingStore) -> Target:
    """Where a run's job goes and reports."""
    return Target(backend, location, store)


def make_job(
    request: RunRequest,
    checkout: Checkout,
    to: Target,
    run_id: str,
    experiment_id: str,
    extra_tags: tuple[tuple[str, str], ...] = (),
) -> Job:
    """The job of one run: the worker command, the snapshot as working dir, the store excluded."""
    tags = getattr(to.backend, "worker_tags", None)
    extra_tags = extra_tags + (tags(run_id) if tags else ())
    location = to.location
    uploaded = uploads_code(to.backend, checkout)
    argv = worker_argv(request, checkout, run_id, experiment_id, location.uri, extra_tags,
                       uploaded)  # fmt: skip
    folder = checkout.top if uploaded else checkout.path
    excludes = [".git"]
    for owned in location.owned_paths():
        if owned.is_relative_to(folder):
            excludes.append(str(owned.relative_to(folder)))
    log = to.store.location.staging_dir(run_id) / "_mlrun" / "engine.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {"MLRUN_TRACKING_URI": location.uri}
    token = to.job_token(run_id, experiment_id, job_pin(request, checkout, extra_tags))
    if token is not None:
        env[TOKEN_ENV] = token
    return Job(run_id, argv, folder, env, log, tuple(excludes), checkout if uploaded else None)


def submit(
    backend_name: str, config: dict[str, Any], backend: Backend, job: Job, store: TrackingStore
) -> Submitted:
    """Submit and remember the job with the run (nothing is left when submission fails)."""
    artifact_dir = store.location.staging_dir(job.run_id)
    job_id = backend.submit(job)
    write_record(artifact_dir, backend_name, job_id, config)
    return Submitted(job.run_id, job_id, backend)


def preflight(backend_name: str, config_path: str | None) -> Backend:
    """The configured backend, reachable (Ray: its Jobs API; Slurm: sbatch on PATH)."""
    backend = get_backend(backend_name, load_config(config_path))
    check = getattr(backend, "check", None)
    if check is not None:
        check()
    return backend


def submit_run(
    request: RunRequest,
    reporter: Reporter,
    backend_name: str,
    config_path: str | None,
    wait: bool,
    on_output: Callable[[str], None] | None,
) -> tuple[Run | None, Submitted, JobState | None]:
    """``mlrun run --backend NAME``: check everything here, then hand the run to the engine."""
    from mlrun_cli.execution.runner import resolve_experiment
    from mlrun_cli.tracking.store import open_location, resolve_location

    config = load_config(config_path)
    backend = preflight(backend_name, config_path)
    location = resolve_location(request.tracking_uri)
    checkout, params = check_locally(request, reporter, location.owned_paths(), backend)
    request = replace(request, params=params)
    store = open_location(location)
    try:
        experiment = resolve_experiment(store, request.experiment_name, request.experiment_id)
        run_id = request.run_id or uuid.uuid4().hex
        to = target(backend, location, store)
        job = make_job(request, checkout, to, run_id, experiment.experiment_id)
        submitted = submit(backend_name, config, backend, job, store)
        reporter.info(f"run {run_id} submitted to {backend_name} as job {submitted.job_id}")
        if not wait:
            return None, submitted, None
        try:
            run, state = wait_for(store, submitted, on_output=on_output)
        except KeyboardInterrupt:
            backend.cancel(submitted.job_id)
            stop = threading.Event()
            stop.set()
            wait_for(store, submitted, stop)
            raise
        return run, submitted, state
    finally:
        store.close()


def remote_trial_runner(
    request: SweepRequest, context: TrialContext, points: list[dict[str, str]] | None = None
) -> Callable[[int, dict[str, str], threading.Event], TrialResult]:
    """Trials submitted to a backend, each followed in its worker thread.

    With a known list of points and a backend that takes batches (Slurm), all trials that are
    not reused go in one job array, at most ``-j`` running at once (``--array=0-N%K``).
    """
    from mlrun_cli.execution.runner import run_fingerprint
    from mlrun_cli.sweep.trials import TrialResult, trial_prepared, trial_request
    from mlrun_cli.tracking.store import open_location

    config = load_config(request.backend_config)
    backend = get_backend(request.backend, config)
    lock = threading.Lock()
    batch: dict[int, TrialResult | Job | Submitted] = {}

    def plan(index: int, params: dict[str, str], store: TrackingStore) -> TrialResult | Job:
        trial = trial_request(context, index, params)
        prepared: Prepared = trial_prepared(context, params)
        if context.reuse:
            done = store.find_finished_run(
                context.experiment.experiment_id, run_fingerprint(trial, prepared)
            )
            if done is not None:
                return TrialResult(index, params, done, reused=True)
        to = Target(backend, context.location, store)
        return make_job(trial, prepared.checkout, to, uuid.uuid4().hex,
                        context.experiment.experiment_id, context.tags)  # fmt: skip

    def submit_batch(store: TrackingStore) -> None:
        assert points is not None  # noqa: S101 - only called with points
        planned: dict[int, TrialResult | Job | Submitted] = {
            i: plan(i, p, store) for i, p in enumerate(points)
        }
        jobs = [(i, job) for i, job in planned.items() if isinstance(job, Job)]
        ids = backend.submit_many([job for _, job in jobs], request.jobs) if jobs else []  # type: ignore[attr-defined]
        for (i, job), job_id in zip(jobs, ids, strict=True):
            write_record(store.location.staging_dir(job.run_id), request.backend, job_id, config)
            planned[i] = Submitted(job.run_id, job_id, backend)
        batch.update(planned)

    def execute(index: int, params: dict[str, str], stop: threading.Event) -> TrialResult:
        if stop.is_set():
            return TrialResult(index, params, None)
        store = open_location(context.location)
        try:
            with lock:  # one submission at a time: engines throttle bursts
                if points is not None and hasattr(backend, "submit_many"):
                    if not batch:
                        submit_batch(store)
                    planned: TrialResult | Job | Submitted = batch[index]
                else:
                    planned = plan(index, params, store)
                    if isinstance(planned, Job):
                        planned = submit(request.backend, config, backend, planned, store)
            if isinstance(planned, TrialResult):
                return planned
            assert isinstance(planned, Submitted)  # noqa: S101 - plan() gives a result or a job
            run, state = wait_for(store, planned, stop)
            if stop.is_set() and "_" in planned.job_id:
                backend.cancel(planned.job_id.split("_")[0])  # the array's tasks not yet started
            return TrialResult(index, params, run, error=None if run else state.reason)
        finally:
            store.close()

    return execute


def check_locally(
    request: RunRequest, reporter: Reporter, not_code: tuple[Path, ...],
    backend: Backend | None = None,
) -> tuple[Checkout, tuple[str, ...]]:  # fmt: skip
    """Source, spec and parameter checks before submitting (a bad -P never reaches a cluster);
    the checkout, and the ``-P`` items to hand the worker (``path`` values inside the code a
    ``backend`` uploads: relative to the uploaded folder, the worker's own)."""
    from mlrun_cli.source.local import SourceRequest, resolve_source
    from mlrun_cli.spec.mlproject import load_project
    from mlrun_cli.spec.params import bind_params, parse_cli_params

    given = parse_cli_params(request.params)
    source = SourceRequest(request.uri, request.version, request.dirty, request.offline)
    checkout = resolve_source(source, not_code)
    project = load_project(checkout.path)
    for message in project.warnings:
        reporter.warn(message)
    entry_point = project.entry_point(request.entry_point)
    bound = bind_params(entry_point, given, user_cwd=request.cwd, project_dir=checkout.path,
                        strict=request.strict, check_paths=False)  # fmt: skip
    for message in bound.warnings:
        reporter.warn(message)
    inside = checkout.top if backend is not None and uploads_code(backend, checkout) else None
    return checkout, absolute_paths(request.params, entry_point, bound.as_dict(), inside)


def absolute_paths(
    items: tuple[str, ...], entry_point: EntryPoint, bound: dict[str, str],
    inside: Path | None = None,
) -> tuple[str, ...]:  # fmt: skip
    """``-P`` items with each ``path`` value as bound here (absolute, against the user's
    folder): the worker's own folder is another one. A path in ``inside`` (the folder the
    engine uploads, the worker's working directory) goes relative to it: the worker finds it
    in its copy, no shared filesystem needed; one outside keeps the submitter's absolute path
    (the worker needs it at the same place)."""
    paths = {p.name for p in entry_point.parameters if p.type == "path"}
    out = []
    for item in items:
        name = item.partition("=")[0]
        if name not in paths or name not in bound:
            out.append(item)
            continue
        value = bound[name]
        if inside is not None and "://" not in value and Path(value).is_relative_to(inside):
            value = Path(value).relative_to(inside).as_posix() or "."
        out.append(f"{name}={value}")
    return tuple(out)
