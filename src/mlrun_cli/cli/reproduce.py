"""``mlrun reproduce``: rebuild a run from its record and check the result."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.models import CommandInfo

from mlrun_cli.cli import _complete
from mlrun_cli.cli._options import RunIdOption, TrackingUri, one_run_id
from mlrun_cli.cli._output import (
    CliReporter,
    State,
    handle_errors,
    info,
    info_status,
    print_json,
    warn,
)


@handle_errors
def reproduce_command(
    run_id: Annotated[
        str | None,
        typer.Argument(
            metavar="RUN_ID",
            help="The run to reproduce (id or unique prefix).",
            autocompletion=_complete.run_ids,
            show_default=False,
        ),
    ] = None,
    run_id_option: RunIdOption = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Compare final metrics and artifact hashes; exit 6 on any mismatch."
        ),
    ] = False,
    rtol: Annotated[
        float, typer.Option("--rtol", metavar="R", help="Relative tolerance for metrics.")
    ] = 0.0,
    atol: Annotated[
        float, typer.Option("--atol", metavar="A", help="Absolute tolerance for metrics.")
    ] = 0.0,
    experiment_name: Annotated[
        str | None,
        typer.Option(
            "--experiment-name",
            metavar="NAME",
            autocompletion=_complete.experiment_names,
            help="Record the new run here (default: the original's experiment).",
            show_default=False,
        ),
    ] = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Use cached git mirrors and data only.")
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="With --verify: accept a run that logged no metric and no artifact.",
        ),
    ] = False,
    ignore_artifact: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore-artifact",
            metavar="GLOB",
            help="With --verify: do not compare artifacts matching GLOB (repeatable), such as "
            "model files a library writes differently each time ('models/*/model.skops').",
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON on stdout.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the new run id.")
    ] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Rebuild a run from its record alone (commit + snapshot, env lock, data pins) and rerun it."""
    from mlrun_cli.cli.summary import append_summary
    from mlrun_cli.execution.reproduce import ReproduceRequest, reproduce

    State.quiet = quiet or State.quiet
    request = ReproduceRequest(
        run_id=one_run_id(run_id, run_id_option), verify=verify, rtol=rtol, atol=atol,
        experiment_name=experiment_name, tracking_uri=tracking_uri, offline=offline,
        stdout_to_stderr=json_output or quiet,
        allow_empty=allow_empty, ignore_artifacts=tuple(ignore_artifact or ()),
    )  # fmt: skip
    result = reproduce(request, CliReporter())
    append_summary(result.run, f"mlrun reproduce {result.original.run_id}", result.checks)
    if json_output:
        print_json({
            "schema": "mlrun.reproduce/1",
            "original_run_id": result.original.run_id,
            "run": result.run.to_json(),
            "verified": result.verified if verify else None,
            "nothing_to_compare": result.nothing_to_compare,
            "checks": [
                {"kind": c.kind, "key": c.key, "original": c.original,
                 "reproduced": c.reproduced, "match": c.match}
                for c in result.checks
            ],
        })  # fmt: skip
    elif quiet:
        typer.echo(result.run.run_id)
    else:
        _print_checks(result, tracking_uri)
    raise typer.Exit(result.exit_code)


def _print_checks(result: object, tracking_uri: str | None) -> None:
    from mlrun_cli.cli._table import Table, print_table
    from mlrun_cli.cli.running import recorded_line
    from mlrun_cli.execution.reproduce import ReproduceResult

    assert isinstance(result, ReproduceResult)  # noqa: S101 - typed loosely to keep imports lazy
    run = result.run
    from mlrun_cli.cli._table import PIPED_WIDTH, terminal_width

    new, old = run.run_id, result.original.run_id
    if len(f"mlrun: run {new} {run.status} reproduces {old}") > (terminal_width() or PIPED_WIDTH):
        new, old = new[:8], old[:8]  # prefixes as tables show them (commands accept them)
    info_status(f"run {new} ", run.status, f" reproduces {old}")
    if result.nothing_to_compare:
        warn(
            f"nothing to compare: run {result.original.run_id} and its child runs logged no "
            "metric and no artifact (exit 6; --allow-empty accepts it)"
        )
    if result.checks:
        table = Table(
            ["check", "key", "original", "reproduced", "match"], keep={4}, fixed={4}, middle={1}
        )
        for check in result.checks:
            mark = ("yes", "32") if check.match else ("NO", "31")
            table.add_row(check.kind, check.key, check.original, check.reproduced, mark)
        print_table(table)
        info("verified: every check matches" if result.verified else "MISMATCH (exit 6)")
    info(recorded_line(tracking_uri, run.run_id))


REPRODUCE = CommandInfo(
    "reproduce",
    callback=reproduce_command,
    epilog="""\b
Examples:
  mlrun reproduce 0666ebd1 --verify
  mlrun reproduce 0666ebd1 --verify --rtol 1e-6 --json""",
)
