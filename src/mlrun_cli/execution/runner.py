"""The steps of ``mlrun run``, in order. The only module that knows that order.

Each step is a plain function elsewhere; this module wires them and guarantees that once a run
exists, it always ends in a terminal status (FINISHED, FAILED or KILLED), whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlrun_cli._system import current_user, hostname
from mlrun_cli.errors import ExitCode, Terminated, UsageError
from mlrun_cli.tracking import models
from mlrun_cli.tracking.record import Record, set_field

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager

    from mlrun_cli.data.inputs import Inputs
    from mlrun_cli.data.step import DataPin
    from mlrun_cli.envs.base import Env
    from mlrun_cli.envs.cache import Lease
    from mlrun_cli.execution.process import Outcome
    from mlrun_cli.mlflow_compat.loopback import LoopbackEndpoint
    from mlrun_cli.source.local import Checkout
    from mlrun_cli.spec.mlproject import EntryPoint, Project
    from mlrun_cli.spec.params import BoundParams
    from mlrun_cli.spec.python_env import PythonEnvSpec
    from mlrun_cli.tracking.models import Experiment, Run
    from mlrun_cli.tracking.store import TrackingStore


class Reporter(Protocol):
    """How the core tells the user what happens; the CLI implements it."""

    def info(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def progress(self, title: str) -> AbstractContextManager[Callable[[str], None]]: ...


class RunRequest(Record):
    """Everything ``mlrun run`` was asked to do, already split into plain values."""

    uri: str
    entry_point: str = "main"
    params: tuple[str, ...] = ()
    experiment_name: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    env_manager: str = "uv"
    tracking_uri: str | None = None
    strict: bool = False
    version: str | None = None
    dirty: str = "snapshot"
    offline: bool = False
    data_version: str | None = None
    allow_dirty_data: bool = False
    reuse: bool = False
    python_downloads: bool = False
    stdout_to_stderr: bool = False
    cwd: Path = Path()  # the current folder (made absolute when the request is made)
    run_id: str | None = None  # given by a backend that submitted the run (its job's name)
    tags: tuple[tuple[str, str], ...] = ()  # set by the submitter (a sweep's trial tags)
    echo: bool = True  # False: the entry point's output goes to the run's log only

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.cwd == Path():
            set_field(self, "cwd", Path.cwd())


class RunResult(Record):
    """The finished run and the exit code mlrun should end with."""

    run: Run
    exit_code: int
    reused: bool = False


def exit_code_for(run: Run, interrupted_by: int | None = None) -> int:
    """FINISHED -> 0, FAILED -> 1, KILLED -> 130 (143 when mlrun got SIGTERM)."""
    if run.status == models.FINISHED:
        return ExitCode.OK
    if run.status == models.KILLED:
        return ExitCode.TERMINATED if interrupted_by == signal.SIGTERM else ExitCode.INTERRUPTED
    return ExitCode.RUN_FAILED


def resolve_experiment(
    store: TrackingStore, name: str | None, experiment_id: str | None
) -> Experiment:
    """``--experiment-name`` (created if missing) or ``--experiment-id``; default: Default."""
    from mlrun_cli.tracking.sqlite import DEFAULT_EXPERIMENT_NAME

    if experiment_id is not None:
        experiment = store.get_experiment(experiment_id)
    else:
        experiment = store.get_or_create_experiment(name or DEFAULT_EXPERIMENT_NAME)
    if experiment.lifecycle_stage == models.DELETED:
        raise UsageError(
            f"experiment {experiment.name!r} (id {experiment.experiment_id}) is deleted; "
            f"restore it with: mlrun experiments restore --experiment-id {experiment.experiment_id}"
        )
    return experiment


def child_environment(
    env: Env,
    run: Run,
    store_uri: str,
    events: Path,
    artifact_dir: Path,
    command_params: dict[str, str] | None = None,
) -> dict[str, str]:
    """The child's environment: the user's, the env's bin dir first on PATH, mlrun's variables."""
    child = dict(os.environ)
    if env.isolated:
        # PYTHONPATH would put the host's packages into the isolated env; PYTHONHOME points
        # the interpreter at another installation's standard library; __PYVENV_LAUNCHER__
        # (set by macOS framework builds) makes a venv's python report the wrong executable.
        for name in ("PYTHONPATH", "PYTHONHOME", "__PYVENV_LAUNCHER__"):
            child.pop(name, None)
        child["VIRTUAL_ENV"] = str(env.root)
    for name, value in env.child_vars:  # what the env needs (e.g. where its pycs go)
        if value is None:
            child.pop(name, None)
        else:
            child[name] = value
    child["PATH"] = os.pathsep.join([str(env.bin_dir), child.get("PATH", "")])
    # Output is a pipe, not a terminal: unbuffered Python keeps the streamed log live.
    child["PYTHONUNBUFFERED"] = "1"
    child.update(
        {
            "MLRUN_RUN_ID": run.run_id,
            "MLRUN_TRACKING_URI": store_uri,
            "MLRUN_EXPERIMENT_ID": run.experiment_id,
            "MLRUN_EVENTS": str(events),
            "MLRUN_ARTIFACT_DIR": str(artifact_dir),
            # The values the command got (a path param's absolute path, not its record).
            "MLRUN_PARAMS": json.dumps(
                command_params
                if command_params is not None
                else {p.key: p.value for p in run.params}
            ),
        }
    )
    return child


def shell_argv(command: str) -> tuple[str, ...]:
    """Run the rendered command through bash (as MLflow does), or sh where bash is missing."""
    return (_find_on_path("bash") or "/bin/sh", "-c", command)


def _find_on_path(name: str) -> str | None:
    """The first executable ``name`` on PATH (shutil.which's answer, without importing shutil
    and its compression modules on every run)."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = Path(folder or os.curdir) / name
        if os.access(candidate, os.X_OK) and not candidate.is_dir():
            return str(candidate)
    return None


class Prepared(Record):
    """The outcome of every step that can fail before a run exists."""

    checkout: Checkout
    project: Project
    bound: BoundParams
    env: Env
    lease: Lease | None = None
    data: DataPin | None = None
    inputs: Inputs | None = None

    def release(self) -> None:
        """Stop holding the environment in use; remove downloaded inputs."""
        if self.inputs is not None:
            self.inputs.cleanup()
        if self.lease is not None:
            self.lease.release()

    def recorded_params(self) -> tuple[tuple[str, str, str | None], ...]:
        """(name, value, type) as recorded: paths inside the project relative to it."""
        recorded = self.inputs.recorded_values() if self.inputs else {}
        return tuple((p.name, recorded.get(p.name, p.value), p.type) for p in self.bound.params)


def prepare(
    request: RunRequest,
    reporter: Reporter,
    not_code: tuple[Path, ...] = (),
    check: Callable[[EntryPoint], None] | None = None,
) -> Prepared:
    """Resolve source, spec, params and environment. Errors here create no run.

    ``not_code``: paths never counted as the project's code (the tracking store's files).
    ``check``: called with the entry point before any data or environment work (a sweep's
    type checks of all its trials).
    """
    from mlrun_cli.envs.base import check_env_manager
    from mlrun_cli.source.local import SourceRequest, resolve_source
    from mlrun_cli.spec.mlproject import load_project
    from mlrun_cli.spec.params import bind_params, parse_cli_params

    if request.experiment_name is not None and request.experiment_id is not None:
        raise UsageError("--experiment-name and --experiment-id: give one, not both")
    if request.run_name is not None and any(ord(c) < 32 or ord(c) == 127 for c in request.run_name):
        raise UsageError(
            f"--run-name {request.run_name!r}: expected one line of text (no control characters)"
        )
    given = parse_cli_params(request.params)
    check_env_manager(request.env_manager)
    source = SourceRequest(request.uri, request.version, request.dirty, request.offline)
    checkout = resolve_source(source, not_code, reporter.progress)
    project = load_project(checkout.path)
    for message in project.warnings:
        reporter.warn(message)
    entry_point = project.entry_point(request.entry_point)
    refuse_outside_code(checkout, project, entry_point.command)
    if check is not None:
        check(entry_point)
    # Paths are checked after the data step, which may restore them (a fresh clone).
    bound = bind_params(entry_point, given, user_cwd=request.cwd, project_dir=checkout.path,
                        strict=request.strict, check_paths=False)  # fmt: skip
    for message in bound.warnings:
        reporter.warn(message)
    if project.env.kind == "docker":
        raise UsageError(
            f"{project.mlproject_path}: docker_env: docker environments are not supported; "
            "use python_env"
        )
    data = _pin_data(request, checkout, reporter)
    inputs = resolve_path_params(bound, checkout, data, request.offline, reporter,
                                 not_code=not_code)  # fmt: skip
    try:
        if inputs is not None:
            bound = bind_params(entry_point, {**given, **inputs.local_values()},
                                user_cwd=request.cwd, project_dir=checkout.path)  # fmt: skip
        spec = load_env_spec(project, reporter, strict=request.strict)
        env, lease = _provision(request, spec, checkout.path, reporter)
    except BaseException:
        if inputs is not None:
            inputs.cleanup()
        raise
    wanted = spec.python if spec is not None else None
    if spec is not None and wanted and not env.isolated and not _matches(env, wanted):
        reporter.warn(
            f"{Path(spec.source).name} asks for Python {wanted}; "
            f"--env-manager local has {env.python_version}"
        )
    return Prepared(checkout, project, bound, env, lease, data, inputs)


def _provision(
    request: RunRequest, spec: PythonEnvSpec | None, project_dir: Path, reporter: Reporter
) -> tuple[Env, Lease | None]:
    """The run's environment. ``--env-manager local`` imports none of the env building code."""
    if request.env_manager == "local":
        from mlrun_cli.envs.local import local_env

        return local_env()
    from mlrun_cli.envs.provision import provision

    return provision(request.env_manager, spec, project_dir, reporter, request.python_downloads)


def _matches(env: Env, wanted: str) -> bool:
    from mlrun_cli.envs.interpreters import matches

    return matches(env.python_version, wanted)


def refuse_outside_code(checkout: Checkout, project: Project, command: str) -> None:
    """The project files and the scripts the command names must be the checkout's own: a
    committed symlink to a file elsewhere would run code the record does not hold."""
    import shlex

    from mlrun_cli.errors import SourceError

    top = Path(os.path.realpath(checkout.top))
    candidates = [project.mlproject_path, project.env.path]
    try:
        words = shlex.split(command)
    except ValueError:
        words = []
    # Relative words name the project's own files (python train.py); an absolute path (an
    # interpreter, a system tool) is the user's choice, not the project's code.
    candidates += [
        checkout.path / word
        for word in words
        if word and not word.startswith(("-", "/", "~")) and ".." not in Path(word).parts
    ]
    for path in candidates:
        if path is None or not path.is_symlink():
            continue
        if not Path(os.path.realpath(path)).is_relative_to(top):
            raise SourceError(
                f"{path.relative_to(checkout.path) if path.is_relative_to(checkout.path) else path}"
                f" is a symlink to {os.path.realpath(path)}, outside the project's repository: "
                "the recorded code would not be what runs"
            )


def resolve_path_params(
    bound: BoundParams,
    checkout: Checkout,
    data: DataPin | None,
    offline: bool,
    reporter: Reporter,
    expected: dict[str, str] | None = None,
    not_code: tuple[Path, ...] = (),
    original_top: Path | None = None,
) -> Inputs | None:
    """The inputs step: ``path`` parameters checked, recorded and hashed (None: there are none).

    ``expected`` and ``original_top``: the recorded hashes and the user's folder (reproduce).
    """
    if not any(p.type == "path" for p in bound.params):
        return None
    from mlrun_cli.data.inputs import InputContext, resolve_inputs

    code = checkout.code
    unrecorded = bool(code.dirty) and code.snapshot_sha256 is None  # --dirty allow
    archive = code.content_hash if code.kind == "zip" else None
    context = InputContext(checkout.path, checkout.top, code.commit is not None, data, offline,
                           unrecorded, not_code, original_top, archive)  # fmt: skip
    return resolve_inputs(bound.params, context, reporter.progress, expected)


def _pin_data(request: RunRequest, checkout: Checkout, reporter: Reporter) -> DataPin | None:
    """The data step: DVC pins verified and restored (None for projects without DVC)."""
    from mlrun_cli.data import find_dvc_root

    if find_dvc_root(checkout.path, checkout.top) is None:
        if request.data_version is not None:
            raise UsageError(f"--data-version: {checkout.path} is not a DVC project (no .dvc/)")
        return None  # no DVC: pay for nothing (the data modules are not even imported)
    from mlrun_cli.data.step import DataRequest, pin_data

    own = checkout.code.kind in ("local", "local-git")
    if request.data_version is not None and checkout.code.commit is None:
        raise UsageError(
            f"--data-version {request.data_version}: {checkout.path} is not in a git repository"
        )
    data = pin_data(
        DataRequest(checkout.path, checkout.top, own, request.data_version,
                    request.allow_dirty_data, request.offline),
        reporter.warn,
        reporter.progress,
    )  # fmt: skip
    if data is not None:
        if data.pulled:
            source = f"DVC remote {data.remote_name}" if data.remote_name else "the DVC cache"
            reporter.info(f"data: fetched {len(data.pulled)} object(s) from {source}")
        if data.dirty:
            reporter.warn("data differs from the pins (--allow-dirty-data): actual hashes recorded")
    return data


def load_env_spec(
    project: Project, reporter: Reporter, strict: bool = False
) -> PythonEnvSpec | None:
    """The project's python_env.yaml, or its conda.yaml made a pip spec, or None.

    ``strict``: a conda package that cannot be installed with pip is an error, not a warning.
    """
    ref = project.env
    if ref.path is None:
        return None  # (no env file: the spec modules are not imported)
    if ref.kind == "conda_env":
        from mlrun_cli.spec.conda_env import load_conda_env  # (its 7 regexes: conda only)

        spec, warnings = load_conda_env(ref.path)
        if strict and warnings:
            raise UsageError(f"{warnings[0]} (refused by --strict)")
        for message in warnings:
            reporter.warn(message)
        return spec
    from mlrun_cli.spec.python_env import load_python_env

    return load_python_env(ref.path)


def execute_run(request: RunRequest, reporter: Reporter) -> RunResult:
    """Run a project entry point end to end and record it."""
    from mlrun_cli.tracking.ingest import reap_orphans
    from mlrun_cli.tracking.store import open_location, resolve_location

    location = resolve_location(request.tracking_uri)
    with sigterm_raises():
        prepared = prepare(request, reporter, location.owned_paths())
        try:
            store = open_location(location)
            try:
                reap_orphans(store, hostname())
                experiment = resolve_experiment(
                    store, request.experiment_name, request.experiment_id
                )
                if request.reuse:
                    done = store.find_finished_run(
                        experiment.experiment_id, run_fingerprint(request, prepared)
                    )
                    if done is not None:
                        return RunResult(done, ExitCode.OK, reused=True)
                return launch(store, prepared, request, experiment, reporter, request.tags)
            finally:
                store.close()
        finally:
            prepared.release()


def launch(
    store: TrackingStore,
    prepared: Prepared,
    request: RunRequest,
    experiment: Experiment,
    reporter: Reporter,
    extra_tags: tuple[tuple[str, str], ...] = (),
) -> RunResult:
    """Create the run, start the entry point, record everything until it ends."""
    spec = run_spec(request, prepared, experiment, store, extra_tags)
    run = store.create_run(spec)
    if prepared.checkout.snapshot is not None:
        record_snapshot(store, run.run_id, prepared.checkout.snapshot)
    # Two short lines fit an 80-column terminal; the full id ends the run's last line.
    reporter.info(
        f"run {run.run_id[:8]} ({run.name}) in experiment {experiment.name!r} "
        f"[id {experiment.experiment_id}]"
    )
    reporter.info(f"$ {prepared.bound.command}")
    code = prepared.checkout.code
    if prepared.checkout.snapshot is not None:
        size = len(prepared.checkout.snapshot)
        reporter.info(f"code: {(code.commit or '')[:12]} + uncommitted changes, recorded as "
                      f"{SNAPSHOT_ARTIFACT} ({size:,} bytes)")  # fmt: skip
    elif code.dirty:
        reporter.warn("code: uncommitted changes are not recorded (--dirty allow)")
    assert spec.events_path is not None  # noqa: S101 - run_spec always sets it
    return _supervise(store, run, experiment, prepared, Path(spec.events_path), request, reporter)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """While mlrun works, SIGTERM raises Terminated, so a run is never left RUNNING."""

    def handler(_signum: int, _frame: object) -> None:
        raise Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_fingerprint(request: RunRequest, prepared: Prepared) -> str:
    """The fingerprint of what this run would be (computed before anything starts)."""
    import sysconfig

    from mlrun_cli.execution.fingerprint import fingerprint

    env = prepared.env
    return fingerprint(
        prepared.checkout.code,
        request.entry_point,
        ((name, value) for name, value, _ in prepared.recorded_params()),
        prepared.data.fingerprint if prepared.data else None,
        env.lock.sha256 if env.lock else None,
        env.python_version,
        env.lock.platform if env.lock else sysconfig.get_platform(),
        prepared.inputs.hashes() if prepared.inputs else (),
    )


def run_spec(
    request: RunRequest,
    prepared: Prepared,
    experiment: Experiment,
    store: TrackingStore,
    extra_tags: tuple[tuple[str, str], ...] = (),
) -> models.RunCreate:
    """The record a new run starts with."""
    from mlrun_cli.tracking.ingest import process_start_marker
    from mlrun_cli.tracking.models import Param, RunCreate, new_run_id
    from mlrun_cli.tracking.names import generate_run_name

    run_id = request.run_id or new_run_id()
    env = prepared.env
    # A sweep's trial names its parent (the grouping run); a nested mlrun run inherits it.
    parent = dict(extra_tags).get("mlrun.parent_run_id") or inherited_parent(store)
    return RunCreate(
        run_id=run_id,
        experiment_id=experiment.experiment_id,
        name=request.run_name or generate_run_name(),
        entry_point=request.entry_point,
        command=prepared.bound.command,
        code=prepared.checkout.code,
        params=tuple(Param(*p) for p in prepared.recorded_params()),
        tags=(("mlrun.env.manager", env.manager), ("mlrun.env.python", env.python_version))
        + ((("mlrun.env.key", env.key),) if env.key else ())
        + (prepared.inputs.tags() if prepared.inputs else ())
        + ((("mlflow.source.git.branch", branch),) if (branch := prepared.checkout.branch) else ())
        + ((("mlflow.parentRunId", parent),) if parent else ())
        + extra_tags,
        user=current_user(),
        host=hostname(),
        pid=os.getpid(),
        pid_start=process_start_marker(os.getpid()),
        events_path=str(store.location.events_dir / f"{run_id}.jsonl"),
        env_lock=env.lock.text if env.lock else None,
        env_lock_hash=env.lock.sha256 if env.lock else None,
        data=_data_record(prepared.data),
        fingerprint=run_fingerprint(request, prepared),
        parent_run_id=parent,
    )


def inherited_parent(store: TrackingStore) -> str | None:
    """The run this ``mlrun run`` is nested in: an entry point's inherited MLRUN_RUN_ID,
    when that run is in the same store (another store's id would point nowhere)."""
    from mlrun_cli.errors import NotFoundError

    parent = os.environ.get("MLRUN_RUN_ID")
    if not parent:
        return None
    try:
        return store.get_run(parent).run_id
    except NotFoundError:
        return None


def _data_record(data: DataPin | None) -> models.DataRecord | None:
    from mlrun_cli.tracking.models import DataPinRecord, DataRecord

    if data is None:
        return None
    pins = tuple(DataPinRecord(p.path, p.md5, p.size, p.nfiles, p.is_output) for p in data.pins)
    return DataRecord(data.fingerprint, pins, data.revision, data.dirty, data.remote_url,
                      data.pulled)  # fmt: skip


def _supervise(
    store: TrackingStore,
    run: Run,
    experiment: Experiment,
    prepared: Prepared,
    events: Path,
    request: RunRequest,
    reporter: Reporter,
) -> RunResult:
    """Run the child and ingest its events; the run always ends in a terminal status."""
    from mlrun_cli.execution.process import LateSignals, Request, run_process
    from mlrun_cli.mlflow_compat import serve_mlflow
    from mlrun_cli.tracking.ingest import OUTPUT_LOG, LiveIngester, process_start_marker
    from mlrun_cli.tracking.store import open_store

    artifact_dir = store.location.staging_dir(run.run_id)
    outcome: Outcome | None = None
    late = LateSignals(reporter.warn)
    mlflow: LoopbackEndpoint | None = None
    try:
        # None unless the env has MLflow
        mlflow = serve_mlflow(store, run, prepared.env, prepared.bound.as_dict())
        artifact_dir.mkdir(parents=True, exist_ok=True)
        events.parent.mkdir(parents=True, exist_ok=True)
        events.touch()
        log_path = artifact_dir / OUTPUT_LOG
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = child_environment(prepared.env, run, store.uri, events, artifact_dir,
                                prepared.bound.as_dict())  # fmt: skip
        if mlflow is not None:
            mlflow.child_environment(env)
        ingester = LiveIngester(
            lambda: open_store(store.uri), run.run_id, events, reporter.warn,
            log_path=log_path if store.location.remote is not None else None,
        )  # fmt: skip

        def exited(code: int) -> None:
            late.child_exited(code)
            # Recorded at once: if mlrun is stopped while it ingests, the reaper still knows
            # how the entry point ended.
            store.set_child_exit(run.run_id, code)

        def started(pid: int) -> None:
            store.set_child_process(run.run_id, pid, process_start_marker(pid))
            # Only now: the output relay is forked from a process with no other thread.
            ingester.start()

        with late:
            try:
                outcome = run_process(
                    Request(
                        shell_argv(prepared.bound.command),
                        prepared.checkout.path,
                        env,
                        log_path=log_path,
                        stdout_to_stderr=request.stdout_to_stderr,
                        echo=request.echo,
                    ),
                    on_start=started,
                    on_exit=exited,
                )
            finally:
                ingester.stop()
            _record_end(store, run, outcome, events, reporter)
    except BaseException as exc:
        if late.exited:
            # The entry point has ended: what it logged must not be lost to this failure or
            # interrupt. The run stays RUNNING with its exit code and events file; the next
            # mlrun command on this store ingests the rest and finishes it.
            reporter.warn(
                f"run {run.run_id} stays RUNNING until the next mlrun command on this store "
                "finishes recording it"
            )
        elif isinstance(exc, KeyboardInterrupt):
            name = "SIGTERM" if isinstance(exc, Terminated) else "SIGINT"
            store.finish_run(run.run_id, models.KILLED, None, f"interrupted ({name})")
        else:
            store.finish_run(run.run_id, models.FAILED, None, f"mlrun error: {exc}")
        raise
    finally:
        _after_child(mlflow, prepared.checkout, run, artifact_dir, reporter)
    final = store.get_run(run.run_id)
    return RunResult(final, exit_code_for(final, outcome.interrupted_by))


def _record_end(
    store: TrackingStore, run: Run, outcome: Outcome, events: Path, reporter: Reporter
) -> None:
    """Ingest the rest of the events and the output log, then finish the run."""
    from mlrun_cli.tracking.ingest import describe_exit, ingest_available, record_output_log

    store.set_child_exit(run.run_id, outcome.exit_code)
    if outcome.lingering:
        pids = ", ".join(map(str, outcome.lingering[:10]))
        reporter.warn(
            f"{len(outcome.lingering)} process(es) of the job still run after the entry point "
            f"exited (pid {pids}); what they log from now on is not recorded"
        )
    for message in ingest_available(store, run.run_id, events, final=True):
        reporter.warn(message)
    record_output_log(store, run.run_id)
    # Everything is in the store: the file goes before the status, so no stray file is left
    # even if mlrun dies in between (the next command just finishes the run).
    events.unlink(missing_ok=True)
    if outcome.interrupted_by is not None:
        name = signal.Signals(outcome.interrupted_by).name
        store.finish_run(run.run_id, models.KILLED, outcome.exit_code, f"interrupted ({name})")
    elif outcome.exit_code == 0:
        store.finish_run(run.run_id, models.FINISHED, 0)
    else:
        store.finish_run(
            run.run_id, models.FAILED, outcome.exit_code, describe_exit(outcome.exit_code)
        )


def _after_child(
    mlflow: LoopbackEndpoint | None, checkout: Checkout, run: Run, artifact_dir: Path,
    reporter: Reporter,
) -> None:  # fmt: skip
    """Stop the MLflow endpoint; warn about unknown MLflow calls and files left in the repo."""
    for message in mlflow.close() if mlflow is not None else ():
        reporter.warn(message)
    if checkout.code.kind == "local-git":
        from mlrun_cli.source.stray import stray_files_warning

        # The store's own folder (artifacts, events, the database) is never a stray.
        stray = stray_files_warning(checkout.top, run.start_time, (artifact_dir.parent.parent,))
        if stray:
            reporter.warn(stray)


SNAPSHOT_ARTIFACT = "_mlrun/dirty.patch"


def record_snapshot(store: TrackingStore, run_id: str, patch: bytes) -> None:
    """Store the dirty-tree patch as the run's ``_mlrun/dirty.patch`` artifact."""
    from mlrun_cli.tracking.ingest import record_artifact

    path = store.location.staging_dir(run_id) / SNAPSHOT_ARTIFACT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(patch)
    record_artifact(store, run_id, SNAPSHOT_ARTIFACT)
