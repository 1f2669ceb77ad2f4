"""The orphan reaper ingests before it finishes; a failed reap is retried by the next command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.ingest import reap_orphans
from mlrun_cli.tracking.models import CodeVersion, EventBatch, RunCreate
from mlrun_cli.tracking.sqlite import SqliteStore
from mlrun_cli.tracking.store import resolve_location


class FullDisk(SqliteStore):
    """A store whose event writes fail, as on a full disk."""

    def log_batch(self, run_id: str, batch: EventBatch, events_range: object = None) -> None:  # type: ignore[override]
        raise StoreError("tracking store: database or disk is full")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _orphan(tmp_path: Path, exit_code: int | None) -> tuple[str, Path]:
    store = SqliteStore(resolve_location(str(tmp_path / "s")))
    events = tmp_path / "e.jsonl"
    # Distinct points (identical ones are stored once, as MLflow does).
    events.write_bytes(
        b"".join(b'{"t":"metric","k":"m","v":1,"s":%d,"ts":1}\n' % step for step in range(3000))
    )
    spec = RunCreate("0", "r", "main", "x", CodeVersion("local", "/p"), host="h",
                     pid=_dead_pid(), events_path=str(events))  # fmt: skip
    run_id = store.create_run(spec).run_id
    if exit_code is not None:
        store.set_child_exit(run_id, exit_code)
    store.close()
    return run_id, events


def test_a_failed_reap_keeps_the_run_and_its_events_for_the_next_command(tmp_path: Path) -> None:
    run_id, events = _orphan(tmp_path, exit_code=None)
    full = FullDisk(resolve_location(str(tmp_path / "s")))
    assert reap_orphans(full, "h") == []  # never raises: read-only commands keep working
    assert full.get_run(run_id).status == "RUNNING"
    assert events.exists()
    store = SqliteStore(resolve_location(str(tmp_path / "s")))
    assert reap_orphans(store, "h") == [run_id]
    run = store.get_run(run_id)
    assert run.status == "FAILED"
    assert len(store.metric_history(run_id, "m")) == 3000
    assert not events.exists()


def test_a_reaped_run_whose_entry_point_exit_was_recorded_follows_it(tmp_path: Path) -> None:
    run_id, _ = _orphan(tmp_path, exit_code=0)
    store = SqliteStore(resolve_location(str(tmp_path / "s")))
    assert reap_orphans(store, "h") == [run_id]
    run = store.get_run(run_id)
    assert (run.status, run.exit_code) == ("FINISHED", 0)
