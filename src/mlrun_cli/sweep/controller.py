"""``mlrun sweep``: one checkout and one environment, many trials, each an ordinary run.

Trials run in worker threads (``-j N``); the main thread schedules, records and takes the
signals. Ctrl-C stops scheduling, relays the interrupt to the running trials (they end KILLED),
ends the parent run KILLED and re-raises: nothing is left RUNNING, and rerunning the sweep
reuses the FINISHED trials by fingerprint.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mlrun_cli.errors import ExitCode, Terminated, UsageError
from mlrun_cli.sweep.parent import PARENT_TAG
from mlrun_cli.sweep.trials import SKIPPED, TrialResult
from mlrun_cli.tracking import models

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.execution.runner import Reporter, RunRequest
    from mlrun_cli.spec.mlproject import EntryPoint
    from mlrun_cli.sweep.expand import Dimension
    from mlrun_cli.sweep.trials import TrialContext
    from mlrun_cli.tracking.models import Experiment, Run
    from mlrun_cli.tracking.store import TrackingStore

GOALS = ("min", "max")


@dataclass(frozen=True)
class SweepRequest:
    """A sweep: the base run request (its params are the ``-P`` forms) and how to search."""

    run: RunRequest
    random: int | None = None
    seed: int = 0
    jobs: int = 1
    metric: str | None = None
    goal: str = "min"
    reuse: bool = True
    optuna: bool = False
    n_trials: int | None = None
    sampler: str = "tpe"
    backend: str = "local"
    backend_config: str | None = None
    command: str = "mlrun sweep"


@dataclass
class Counts:
    """The progress line's numbers."""

    total: int | None
    done: int = 0
    running: int = 0
    failed: int = 0
    skipped: int = 0
    best: tuple[str, float] | None = None  # (run id, value)


class SweepProgress(Protocol):
    """How the sweep shows its progress; the CLI draws a live line."""

    def update(self, counts: Counts) -> None: ...
    def trial_ended(self, result: TrialResult, counts: Counts) -> None: ...


@dataclass(frozen=True)
class SweepResult:
    """The parent run, every trial (in trial order) and the best one."""

    parent: Run
    trials: list[TrialResult]
    best: TrialResult | None
    exit_code: int


class PointSource(Protocol):
    """Where the next trial's parameters come from (a list, or an Optuna study)."""

    total: int | None

    def next_point(self) -> dict[str, str] | None: ...
    def tell(self, index: int, result: TrialResult) -> None: ...
    def close(self) -> None: ...


class ListSource:
    """Grid or random points, in order."""

    def __init__(self, points: list[dict[str, str]]) -> None:
        self._points = points
        self._next = 0
        self.total: int | None = len(points)

    def next_point(self) -> dict[str, str] | None:
        """The next point, or None when all were handed out."""
        if self._next >= len(self._points):
            return None
        self._next += 1
        return self._points[self._next - 1]

    def tell(self, index: int, result: TrialResult) -> None:
        """Nothing to learn."""

    def close(self) -> None:
        """Nothing to keep."""


def representative(space: tuple[Dimension, ...]) -> dict[str, str]:
    """One concrete value per dimension (to prepare the checkout and env once)."""
    out: dict[str, str] = {}
    for d in space:
        if d.kind == "int":
            out[d.name] = str(int(d.low))
        elif d.sampled:
            out[d.name] = repr(d.low)
        else:
            out[d.name] = d.values[0]
    return out


def _check_request(request: SweepRequest) -> None:
    if request.goal not in GOALS:
        raise UsageError(f"--goal {request.goal!r}: expected one of {', '.join(GOALS)}")
    if request.jobs < 1:
        raise UsageError(f"-j {request.jobs}: expected at least 1")
    if request.optuna:
        if request.random is not None:
            raise UsageError("--optuna and --random: give one, not both")
        if request.metric is None:
            raise UsageError("--optuna needs --metric KEY (the value to optimize)")
        if request.n_trials is None or request.n_trials < 1:
            raise UsageError("--optuna needs --n-trials N (N >= 1)")
    elif request.n_trials is not None:
        raise UsageError("--n-trials is for --optuna; use --random N for random search")


def _checker(
    space: tuple[Dimension, ...], points: list[dict[str, str]] | None, request: RunRequest
) -> Callable[[EntryPoint], None]:
    """Type-check every trial against the entry point before anything is built or run."""
    from mlrun_cli.spec.params import bind_params
    from mlrun_cli.sweep.expand import check_types

    def check(entry_point: EntryPoint) -> None:
        check_types(entry_point, space)
        for point in points or [representative(space)]:
            bind_params(entry_point, point, user_cwd=request.cwd, project_dir=request.cwd,
                        strict=request.strict, check_paths=False)  # fmt: skip

    return check


def run_sweep(request: SweepRequest, reporter: Reporter, progress: SweepProgress) -> SweepResult:
    """Expand, check, prepare once, run every trial, record the parent, pick the best."""
    from mlrun_cli.execution.runner import prepare, sigterm_raises
    from mlrun_cli.sweep.expand import grid, parse_space, random_points
    from mlrun_cli.tracking.store import resolve_location

    _check_request(request)
    space = parse_space(request.run.params)
    points: list[dict[str, str]] | None = None
    if not request.optuna:
        points = (
            random_points(space, request.random, request.seed) if request.random else grid(space)
        )
    location = resolve_location(request.run.tracking_uri)
    base_request = dataclasses.replace(request.run, params=_items(representative(space)))
    entry: list[EntryPoint] = []

    def check(entry_point: EntryPoint) -> None:
        _checker(space, points, request.run)(entry_point)
        entry.append(entry_point)

    with sigterm_raises():
        prepared = prepare(base_request, reporter, location.owned_paths(), check)
        try:
            return _run_prepared(request, reporter, progress, prepared, entry[0], space, points,
                                 location)  # fmt: skip
        finally:
            prepared.release()


def _items(params: dict[str, str]) -> tuple[str, ...]:
    return tuple(f"{k}={v}" for k, v in params.items())


def _first_contact(call: Callable[[], Experiment]) -> Experiment:
    """The sweep's first call to its store; a store it cannot reach: nothing has started."""
    from mlrun_cli.errors import StoreError

    try:
        return call()
    except StoreError as exc:
        raise StoreError(
            exc.message,
            hint="nothing was started or recorded: run the sweep again once the tracking "
            "server answers (or check --tracking-uri)",
        ) from None


def _definition(request: SweepRequest) -> dict[str, object]:
    return {
        "params": sorted(request.run.params),
        "random": request.random,
        "seed": request.seed,
        # Not --n-trials: raising it continues the same study.
        "optuna": [request.sampler, request.metric, request.goal] if request.optuna else None,
    }


def _run_prepared(
    request: SweepRequest,
    reporter: Reporter,
    progress: SweepProgress,
    prepared: object,
    entry_point: EntryPoint,
    space: tuple[Dimension, ...],
    points: list[dict[str, str]] | None,
    location: object,
) -> SweepResult:
    from mlrun_cli._system import hostname
    from mlrun_cli.execution.runner import Prepared, resolve_experiment
    from mlrun_cli.sweep.parent import create_parent, finish_parent, sweep_key, trial_tags
    from mlrun_cli.sweep.trials import QuietReporter, TrialContext
    from mlrun_cli.tracking.ingest import reap_orphans
    from mlrun_cli.tracking.store import StoreLocation, open_location

    assert isinstance(prepared, Prepared)  # noqa: S101 - typed loosely for lazy imports
    assert isinstance(location, StoreLocation)  # noqa: S101 - see above
    store = open_location(location)
    try:
        run = request.run
        experiment = _first_contact(
            lambda: resolve_experiment(store, run.experiment_name, run.experiment_id)
        )  # before the reaper: an unreachable server fails the sweep after one retry round
        reap_orphans(store, hostname())
        key = sweep_key(run, prepared, _definition(request))
        kind = "optuna" if request.optuna else "random" if request.random else "grid"
        described = [(d.name, _describe(run.params, d.name)) for d in space]
        if request.backend != "local":
            from mlrun_cli.backends.remote import preflight

            preflight(request.backend, request.backend_config)  # before any record exists
        parent = create_parent(store, experiment, run, prepared, key, kind, described,
                               request.command)  # fmt: skip
        context = TrialContext(prepared, entry_point, run, experiment, location,
                               trial_tags(parent.run_id, key), QuietReporter(reporter.warn),
                               request.reuse, parent.name.removeprefix("sweep-"))  # fmt: skip
        try:
            source: PointSource
            if request.optuna:
                from mlrun_cli.sweep.optuna_search import OptunaSource

                source = OptunaSource(store, experiment.experiment_id, parent, key, space,
                                      request)  # fmt: skip
            else:
                assert points is not None  # noqa: S101 - set when not optuna
                source = ListSource(points)
            execute = _executor(request, context, points)
            return _drive(store, parent, source, execute, request, progress)
        except KeyboardInterrupt:
            finish_parent(store, parent, models.KILLED, "interrupted")
            raise
        except BaseException as exc:
            finish_parent(store, parent, models.FAILED, f"mlrun error: {exc}")
            raise
    finally:
        store.close()


def _describe(items: tuple[str, ...], name: str) -> str:
    for item in items:
        key, _, value = item.partition("=")
        if key == name:
            return value
    return ""


def _executor(
    request: SweepRequest, context: TrialContext, points: list[dict[str, str]] | None
) -> Callable[[int, dict[str, str], threading.Event], TrialResult]:
    if request.backend == "local":
        from mlrun_cli.sweep.trials import run_local_trial

        return lambda index, params, stop: run_local_trial(context, index, params, stop)
    from mlrun_cli.backends.remote import remote_trial_runner

    return remote_trial_runner(request, context, points)


class Tally:
    """Counts by outcome and the best trial so far."""

    def __init__(self, counts: Counts, metric: str | None, goal: str) -> None:
        self.counts, self.metric, self.goal = counts, metric, goal
        self.best: TrialResult | None = None
        self._best_value = 0.0

    def add(self, result: TrialResult) -> None:
        """Count one ended trial."""
        counts, status = self.counts, result.status
        if result.reused or status == SKIPPED:
            counts.skipped += 1
        elif status == models.FINISHED:
            counts.done += 1
        else:
            counts.failed += 1
        value = result.metric(self.metric)
        if value is None or result.run is None:
            return
        better = value < self._best_value if self.goal == "min" else value > self._best_value
        if self.best is None or better:
            self.best, self._best_value = result, value
            counts.best = (result.run.run_id, value)


def _schedule(
    source: PointSource,
    execute: Callable[[int, dict[str, str], threading.Event], TrialResult],
    request: SweepRequest,
    progress: SweepProgress,
    tally: Tally,
) -> tuple[list[TrialResult], int | None]:
    """Run trials N at a time until the source is exhausted or a signal stops the sweep."""
    from mlrun_cli.execution.process import WORKER_INTERRUPTS

    results: list[TrialResult] = []
    stop = threading.Event()
    interrupted: int | None = None
    WORKER_INTERRUPTS.reset()
    pool = ThreadPoolExecutor(max_workers=request.jobs, thread_name_prefix="mlrun-trial")
    pending: dict[Future[TrialResult], int] = {}
    index = 0
    try:
        while True:
            try:
                while not stop.is_set() and len(pending) < request.jobs:
                    point = source.next_point()
                    if point is None:
                        break
                    pending[pool.submit(execute, index, point, stop)] = index
                    index += 1
                    tally.counts.running = len(pending)
                    progress.update(tally.counts)
                if not pending:
                    break
                finished, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    del pending[future]
                    result = future.result()
                    results.append(result)
                    source.tell(result.index, result)
                    tally.add(result)
                    tally.counts.running = len(pending)
                    progress.trial_ended(result, tally.counts)
            except KeyboardInterrupt as exc:
                # Stop scheduling; the running trials get the signal and end KILLED.
                signum = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
                interrupted = interrupted or signum
                stop.set()
                WORKER_INTERRUPTS.interrupt(signum)
    except BaseException:
        stop.set()
        WORKER_INTERRUPTS.interrupt(signal.SIGINT)
        raise
    finally:
        pool.shutdown(wait=True)
        source.close()
    return sorted(results, key=lambda r: r.index), interrupted


def earlier_trials(store: TrackingStore, parent: Run, seen: set[str]) -> list[TrialResult]:
    """FINISHED trials of earlier invocations of the same sweep (a resumed Optuna study)."""
    from mlrun_cli.sweep.parent import SWEEP_TAG
    from mlrun_cli.tracking.queries import search_runs

    key = parent.tags[SWEEP_TAG]
    where = f"tags.`{SWEEP_TAG}` = '{key}' and status = 'FINISHED'"
    found = search_runs(store, [parent.experiment_id], where, max_results=10_000).runs
    return [
        TrialResult(-1, {p.key: p.value for p in run.params}, run, reused=True)
        for run in reversed(found)
        if run.run_id not in seen and run.run_id != parent.run_id and PARENT_TAG in run.tags
    ]


def _drive(
    store: TrackingStore,
    parent: Run,
    source: PointSource,
    execute: Callable[[int, dict[str, str], threading.Event], TrialResult],
    request: SweepRequest,
    progress: SweepProgress,
) -> SweepResult:
    """Schedule the trials, then end the parent run with the sweep's outcome."""
    from mlrun_cli.sweep.parent import finish_parent, record_best

    tally = Tally(Counts(source.total), request.metric, request.goal)
    results, interrupted = _schedule(source, execute, request, progress, tally)
    if request.optuna and interrupted is None:
        for earlier in earlier_trials(store, parent, {r.run.run_id for r in results if r.run}):
            tally.add(earlier)
            results.append(earlier)
    best = tally.best
    if best is not None and request.metric is not None:
        record_best(store, parent, best, request.metric)
    failed = [r for r in results if r.status not in (models.FINISHED, SKIPPED)]
    if interrupted is not None:
        reason = f"interrupted ({signal.Signals(interrupted).name})"
        finish_parent(store, parent, models.KILLED, reason)
        raise Terminated if interrupted == signal.SIGTERM else KeyboardInterrupt
    if failed:
        reason = f"{len(failed)} of {len(results)} trial(s) failed"
        finish_parent(store, parent, models.FAILED, reason)
        code = ExitCode.RUN_FAILED
    else:
        finish_parent(store, parent, models.FINISHED, None)
        code = ExitCode.OK
    return SweepResult(store.get_run(parent.run_id), results, best, code)
