"""``mlrun sweep``: many runs of one entry point over a grid, random points or an Optuna study."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.models import CommandInfo

from mlrun_cli.cli._options import (
    BackendConfigOption,
    BackendOption,
    DirtyOption,
    EntryPointOption,
    EnvManagerOption,
    GitVersionOption,
    RunExperimentIdOption,
    RunExperimentNameOption,
    RunNameOption,
    TrackingUri,
)
from mlrun_cli.cli._output import CliReporter, State, format_number, handle_errors, info, print_json

if TYPE_CHECKING:
    from mlrun_cli.sweep.controller import Counts, SweepResult
    from mlrun_cli.sweep.trials import TrialResult


class LiveProgress:
    """One live line on a terminal (done / running / failed / skipped, best so far); a line per
    finished trial otherwise (CI logs, pipes)."""

    def __init__(self, metric: str | None) -> None:
        import os

        self.metric = metric
        self.live = sys.stderr.isatty() and not os.environ.get("CI") and not State.quiet
        self._shown = False

    def _line(self, counts: Counts) -> str:
        total = "?" if counts.total is None else str(counts.total)
        ended = counts.done + counts.failed + counts.skipped
        text = (
            f"sweep {ended}/{total}: {counts.done} done, {counts.running} running, "
            f"{counts.failed} failed, {counts.skipped} skipped"
        )
        if counts.best is not None and self.metric:
            text += f" · best {self.metric}={format_number(counts.best[1])} ({counts.best[0][:8]})"
        return text

    def update(self, counts: Counts) -> None:
        """Redraw the live line."""
        if self.live:
            sys.stderr.write("\r\033[K" + self._line(counts))
            sys.stderr.flush()
            self._shown = True

    def trial_ended(self, result: TrialResult, counts: Counts) -> None:
        """Log the trial (above the live line), then redraw it."""
        if self.live:
            sys.stderr.write("\r\033[K")
        run = result.run
        what = "reused" if result.reused else result.status
        params = " ".join(f"{k}={v}" for k, v in result.params.items())
        where = f"run {run.run_id[:8]}" if run is not None else (result.error or "not started")
        value = result.metric(self.metric)
        metric = f" {self.metric}={format_number(value)}" if value is not None else ""
        why = f" ({run.status_reason})" if run is not None and run.status_reason else ""
        info(f"trial {result.index + 1} {what}: {where} {params}{metric}{why}")
        self.update(counts)

    def close(self) -> None:
        """Clear the live line."""
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@handle_errors
def sweep_command(
    uri: Annotated[
        str, typer.Argument(metavar="URI", help="Project (as for mlrun run).", show_default=False)
    ],
    entry_point: EntryPointOption = "main",
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-P",
            metavar="NAME=VALUES",
            help="A value, a list a,b,c, range(a,b,step), choice(a,b), or for --random and "
            "--optuna uniform(a,b), loguniform(a,b), int(a,b) (repeatable).",
            show_default=False,
        ),
    ] = None,
    random: Annotated[
        int | None,
        typer.Option(
            "--random", metavar="N", help="Sample N points instead of the grid.", show_default=False
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", metavar="S", help="Sampling seed.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", "-j", metavar="N", help="Trials at once.")] = 1,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            metavar="KEY",
            help="Sort the trials and pick the best by this metric.",
            show_default=False,
        ),
    ] = None,
    goal: Annotated[
        str, typer.Option("--goal", metavar="[min|max]", help="Best: lowest or highest.")
    ] = "min",
    reuse: Annotated[
        bool,
        typer.Option(
            "--reuse/--no-reuse",
            help="Skip trials whose fingerprint already has a "
            "FINISHED run (reruns and resumed sweeps).",
        ),
    ] = True,
    use_optuna: Annotated[
        bool, typer.Option("--optuna", help="Search with Optuna (extra mlrun-cli[optuna]).")
    ] = False,
    n_trials: Annotated[
        int | None,
        typer.Option("--n-trials", metavar="N", help="Optuna: trials in all.", show_default=False),
    ] = None,
    sampler: Annotated[
        str, typer.Option("--sampler", metavar="[tpe|random|cmaes]", help="Optuna sampler.")
    ] = "tpe",
    backend: BackendOption = "local",
    backend_config: BackendConfigOption = None,
    experiment_name: RunExperimentNameOption = None,
    experiment_id: RunExperimentIdOption = None,
    run_name: RunNameOption = None,
    env_manager: EnvManagerOption = "uv",
    version: GitVersionOption = None,
    dirty: DirtyOption = "snapshot",
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse parameters the entry point does not declare.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the sweep as JSON.")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the best run id.")
    ] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Run an entry point over many parameter values; every trial is an ordinary run."""
    from mlrun_cli.execution.runner import RunRequest
    from mlrun_cli.sweep.controller import SweepRequest, run_sweep

    State.quiet = quiet or State.quiet
    run = RunRequest(
        uri=uri,
        entry_point=entry_point,
        params=tuple(param or ()),
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name,
        env_manager=env_manager,
        tracking_uri=tracking_uri,
        strict=strict,
        version=version,
        dirty=dirty,
        cwd=Path.cwd(),
    )
    request = SweepRequest(
        run,
        random,
        seed,
        jobs,
        metric,
        goal,
        reuse,
        use_optuna,
        n_trials,
        sampler,
        backend,
        backend_config,
        command="mlrun sweep " + " ".join(sys.argv[2:]),
    )
    progress = LiveProgress(metric)
    try:
        result = run_sweep(request, CliReporter(), progress)
    finally:
        progress.close()
    if json_output:
        print_json(_as_json(result))
    elif quiet:
        if result.best is not None and result.best.run is not None:
            typer.echo(result.best.run.run_id)
    else:
        _print_trials(result, metric, goal)
    raise typer.Exit(result.exit_code)


def _as_json(result: SweepResult) -> dict[str, object]:
    best = result.best.run.run_id if result.best is not None and result.best.run else None
    return {
        "parent": result.parent.to_json(),
        "best_run_id": best,
        "trials": [
            {
                "index": t.index,
                "params": t.params,
                "status": t.status,
                "reused": t.reused,
                "run_id": t.run.run_id if t.run else None,
                "error": t.error,
                "metrics": {k: m.value for k, m in t.run.metrics.items()} if t.run else {},
            }
            for t in result.trials
        ],
    }


def _print_trials(result: SweepResult, metric: str | None, goal: str) -> None:
    from mlrun_cli.cli._output import STATUS_STYLES
    from mlrun_cli.cli._table import Table, print_table

    trials = list(result.trials)
    if metric:

        def key(t: TrialResult) -> tuple[int, float]:
            value = t.metric(metric)
            if value is None:
                return (1, 0.0)
            return (0, value if goal == "min" else -value)

        trials.sort(key=key)
    names = list(dict.fromkeys(k for t in trials for k in t.params))
    headers = ["run_id", "status", *names, *([metric] if metric else [])]
    table = Table(headers, keep={0, 1}, fixed={0, 1})
    table.right = set(range(2, len(headers)))
    for t in trials:
        status = "reused" if t.reused else t.status
        value = t.metric(metric)
        row: list[str | tuple[str, str]] = [
            t.run.run_id[:8] if t.run else "-",
            (status, STATUS_STYLES.get(t.status, "")),
            *(t.params.get(n, "") for n in names),
            *([format_number(value) if value is not None else ""] if metric else []),
        ]
        table.add_row(*row)
    if trials:
        print_table(table)
    parent = result.parent
    info(
        f"sweep run {parent.run_id[:8]} ({parent.name}): {parent.status}"
        + (f" ({parent.status_reason})" if parent.status_reason else "")
    )
    best = result.best
    if best is not None and best.run is not None and metric:
        value = best.metric(metric)
        shown = format_number(value) if value is not None else "?"
        info(
            f"best: run {best.run.run_id[:8]} ({best.run.name}) {metric}={shown} · "
            f"mlrun runs show {best.run.run_id[:8]}"
        )
    elif metric:
        info(f"best: no FINISHED trial logged {metric!r}")


SWEEP = CommandInfo(
    "sweep",
    callback=sweep_command,
    epilog="""\b
Examples:
  mlrun sweep . -P alpha=0.1,0.5,1 -P 'l1=range(0,1,0.25)' -j 2 --metric rmse
  mlrun sweep . -P 'alpha=loguniform(0.01,1)' --random 20 --metric rmse
  mlrun sweep . -P 'alpha=uniform(0,1)' --optuna --n-trials 40 --metric rmse
  mlrun sweep . -P alpha=0.1,0.5 --backend slurm --backend-config slurm.yaml""",
)
