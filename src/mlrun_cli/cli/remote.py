"""Runs on backends: ``mlrun run --backend ray|slurm``, ``mlrun runs logs`` and ``runs cancel``."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlrun_cli.cli._options import RunIdOption, TrackingUri, one_run_id, open_cli_store
from mlrun_cli.cli._output import (
    CliReporter,
    echo,
    handle_errors,
    info,
    info_status,
    print_json,
)
from mlrun_cli.cli.show import RunIdArgument

if TYPE_CHECKING:
    from mlrun_cli.execution.runner import RunRequest
    from mlrun_cli.tracking.store import TrackingStore


def _echo(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def run_on_backend(
    request: RunRequest,
    backend: str,
    config: str | None,
    no_wait: bool,
    json_output: bool,
    quiet: bool,
) -> int:
    """Submit the run; unless ``--no-wait``, stream its output; the exit code (the run's)."""
    from mlrun_cli.backends.remote import submit_run
    from mlrun_cli.execution.runner import exit_code_for

    run, submitted, state = submit_run(request, CliReporter(), backend, config, not no_wait,
                                       None if (json_output or quiet) else _echo)  # fmt: skip
    if no_wait:
        if json_output:
            print_json({"run_id": submitted.run_id, "job_id": submitted.job_id, "backend": backend})
        elif quiet:
            echo(submitted.run_id)
        else:
            info(f"follow it: mlrun runs logs {submitted.run_id[:8]} --follow")
        return 0
    if run is None:
        from mlrun_cli.cli._output import error

        error(f"run {submitted.run_id} never started: {state.reason if state else 'unknown'}")
        return 1
    if json_output:
        print_json(run.to_json())
    elif quiet:
        echo(run.run_id)
    else:
        reason = f" ({run.status_reason})" if run.status_reason else ""
        info_status(f"run {run.run_id} ", run.status, f"{reason} on {backend}")
    return exit_code_for(run)


def _find(store: TrackingStore, prefix: str) -> tuple[str, tuple[str, str, dict[str, Any]] | None]:
    """The run id and its engine job; a submitted run may not be recorded yet (still queued)."""
    from mlrun_cli.backends.base import find_record, read_record
    from mlrun_cli.errors import NotFoundError

    try:
        found = store.resolve_run_id(prefix)
    except NotFoundError:
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            raise
        root = store.location.staging_root  # a queued run's record is all there is of it
        queued = [d.name for d in root.glob(f"{prefix}*") if read_record(d) is not None]
        if len(queued) != 1:
            raise
        found = queued[0]
    return found, find_record(store, found)


@handle_errors
def logs_command(
    run_id: RunIdArgument = None,
    run_id_option: RunIdOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the run ends.")
    ] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Print a run's output, here or from its Ray or Slurm job."""
    from mlrun_cli.errors import StoreError

    try:
        _print_logs(one_run_id(run_id, run_id_option), follow=follow, tracking_uri=tracking_uri)
    except StoreError as exc:
        if exc.hint and "mlrun sync" in exc.hint:
            exc.hint = None  # `mlrun sync` uploads events: nothing a reader of logs can do
        raise


def _print_logs(wanted: str, *, follow: bool, tracking_uri: str | None) -> None:
    from mlrun_cli.backends.base import get_backend
    from mlrun_cli.backends.remote import Submitted, wait_for
    from mlrun_cli.errors import NotFoundError
    from mlrun_cli.tracking import models

    store = open_cli_store(tracking_uri)
    try:
        found, record = _find(store, wanted)
        if record is not None and follow:
            # The engine's log of the job, until the run ends; a lost run is marked FAILED.
            backend = get_backend(record[0], record[2])
            wait_for(store, Submitted(found, record[1], backend), on_output=_write)
            return
        files = store.artifacts(found)  # here, or through a team server from anywhere
        shown, told = 0, False
        while True:
            running = _status(store, found, queued=record is not None) == models.RUNNING
            try:
                chunk = files.read_bytes("_mlrun/output.log", shown)
            except NotFoundError:
                chunk = b""
                if record is not None:
                    chunk = get_backend(record[0], record[2]).logs(record[1]).encode()[shown:]
                elif not told:
                    told = True
                    _no_log_yet(store, found, running=running)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            shown += len(chunk)
            if not follow or not running:
                break
            time.sleep(0.5)
    finally:
        store.close()


def _no_log_yet(store: TrackingStore, run_id: str, *, running: bool) -> None:
    """Say why a run shows no output (one line on stderr): a RUNNING one has printed nothing
    yet (a run on another machine sends its log to the team server every second); a finished
    one may have none."""
    from mlrun_cli._system import hostname
    from mlrun_cli.cli._output import message

    run = store.get_run(run_id)
    if running and run.host == hostname():
        message(f"mlrun: run {run_id[:8]} has printed nothing yet (RUNNING)")
    elif running:
        message(f"mlrun: run {run_id[:8]} has printed nothing yet (RUNNING on "
                f"{run.host or 'another machine'})")  # fmt: skip
    else:
        message(f"mlrun: run {run_id[:8]} has no output log ({run.status}, nothing recorded)")


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def _status(store: TrackingStore, run_id: str, *, queued: bool) -> str:
    """The run's status; a submitted job whose worker has not recorded the run yet is RUNNING
    (queued) as far as its logs go."""
    from mlrun_cli.errors import NotFoundError
    from mlrun_cli.tracking import models

    try:
        return store.get_run(run_id).status
    except NotFoundError:
        if not queued:
            raise
        return models.RUNNING


@handle_errors
def cancel_command(
    run_id: RunIdArgument = None,
    run_id_option: RunIdOption = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Stop a RUNNING run, here or its Ray or Slurm job."""
    import os
    import signal

    from mlrun_cli._system import hostname
    from mlrun_cli.backends.base import get_backend
    from mlrun_cli.errors import UsageError
    from mlrun_cli.tracking import models

    store = open_cli_store(tracking_uri)
    try:
        found, record = _find(store, one_run_id(run_id, run_id_option))
        if record is not None:
            from mlrun_cli.backends.base import mark_cancelled

            # A queued job may have no run recorded yet: cancel that too.
            ended = _status(store, found, queued=True)
            if ended != models.RUNNING:
                raise UsageError(f"run {found[:8]} is {ended}, not RUNNING")
            mark_cancelled(store, found)
            get_backend(record[0], record[2]).cancel(record[1])
            info(f"run {found[:8]}: cancel sent to {record[0]} job {record[1]}")
            return
        run = store.get_run(found)
        if run.status != models.RUNNING:
            raise UsageError(f"run {found[:8]} is {run.status}, not RUNNING")
        live = next((r for r in store.running_runs_on(hostname()) if r.run_id == found), None)
        if live is None or live.pid is None:
            raise UsageError(f"run {found[:8]} runs on {run.host}; cancel it there")
        try:
            os.kill(live.pid, signal.SIGTERM)
        except ProcessLookupError:
            raise UsageError(f"run {found[:8]}: its mlrun process {live.pid} is gone") from None
        info(f"run {found[:8]}: SIGTERM sent to mlrun (pid {live.pid})")
    finally:
        store.close()
