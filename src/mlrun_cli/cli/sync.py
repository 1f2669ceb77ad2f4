"""``mlrun sync``: upload what runs on this machine left pending on a team server."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.models import CommandInfo

from mlrun_cli.cli._options import TrackingUri
from mlrun_cli.cli._output import handle_errors, info


@handle_errors
def sync_command(
    tracking_uri: TrackingUri = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Upload pending events and artifacts of this machine's runs; finish runs whose runner
    died (the same as every command does first, on its own)."""
    from mlrun_cli._system import hostname
    from mlrun_cli.tracking.ingest import ingest_available, reap_orphans
    from mlrun_cli.tracking.models import RUNNING
    from mlrun_cli.tracking.store import open_store

    store = open_store(tracking_uri, create=False)
    try:
        reaped = reap_orphans(store, hostname())
        uploaded = 0
        journals = store.location.events_dir
        for journal in sorted(journals.glob("*.jsonl")) if journals.is_dir() else []:
            run_id = journal.stem
            before = store.events_offset(run_id)
            run = store.get_run(run_id)
            if run.status == RUNNING:
                continue  # its runner is alive and still sending
            ingest_available(store, run_id, journal, final=True)
            if store.events_offset(run_id) != before:
                uploaded += 1
    finally:
        store.close()
    if not quiet:
        info(f"synced: {len(reaped)} run(s) finished, {uploaded} run(s) with pending events")


SYNC = CommandInfo("sync", callback=sync_command)
