"""A damaged, truncated, full or read-only store, and out-of-range integers: one error line each,
never a traceback, and read commands keep working where the store can still be read."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from pathlib import Path

import pytest

from mlrun_cli.errors import MlrunError, NotFoundError, StoreError
from mlrun_cli.tracking import sqlite_conn
from mlrun_cli.tracking.ingest import reap_orphans
from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, RunCreate
from mlrun_cli.tracking.sqlite import SqliteStore
from mlrun_cli.tracking.store import resolve_location
from tests.conftest import run_mlrun


def _store_with_a_run(root: Path) -> tuple[SqliteStore, str]:
    store = SqliteStore(resolve_location(str(root)))
    run_id = store.create_run(RunCreate("0", "r", "main", "x", CodeVersion("local", "/p"))).run_id
    store.location.staging_dir(run_id).mkdir(parents=True)
    return store, run_id


@pytest.mark.parametrize("damage", ["garbage", "truncated", "dropped"])
def test_a_damaged_store_is_one_error_line(damage: str) -> None:
    store, _ = _store_with_a_run(Path.cwd() / "mlruns")
    store.close()
    db = Path.cwd() / "mlruns" / "mlrun.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 300)
    elif damage == "truncated":
        db.write_bytes(b"")
    else:
        conn = sqlite3.connect(db)
        conn.execute("DROP TABLE latest_metrics")
        conn.commit()
        conn.close()
    commands = [("runs", "search")] + ([("experiments", "search")] if damage != "dropped" else [])
    for argv in commands:
        result = run_mlrun(*argv)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("error: tracking store "), result.stderr
        assert "Traceback" not in result.stderr
    assert db.stat().st_size > 0 or damage == "truncated"  # never silently recreated


def test_a_full_disk_is_a_store_error(tmp_path: Path) -> None:
    store, run_id = _store_with_a_run(tmp_path / "s")
    store._conn.execute("PRAGMA max_page_count = 1")  # a full disk, for SQLite
    points = tuple(Metric("m", float(i), i, 0) for i in range(20000))
    with pytest.raises(StoreError, match="full") as info:
        store.log_batch(run_id, EventBatch(metrics=points))
    assert info.value.hint is not None
    assert "next mlrun command" in info.value.hint


def test_a_read_only_store_can_be_searched_and_refuses_writes_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run_id = _store_with_a_run(tmp_path / "s")
    store.close()
    # A read-only mount, as this process sees it (root can write anything, so fake access).
    monkeypatch.setattr(sqlite_conn.os, "access", lambda path, mode: mode != os.W_OK)
    reader = SqliteStore(resolve_location(str(tmp_path / "s")), create=False)
    assert reader.read_only
    assert reader.get_run(run_id).status == "RUNNING"
    assert reap_orphans(reader, "") == []  # never raises
    with pytest.raises(StoreError, match="read-only"):
        reader.finish_run(run_id, "FINISHED")


def test_integers_beyond_64_bits_are_usage_errors(tmp_path: Path) -> None:
    store, _ = _store_with_a_run(tmp_path / "s")
    with pytest.raises(NotFoundError):
        store.get_experiment("99999999999999999999")
    with pytest.raises(MlrunError):
        store.get_run(str(2**70))


def test_huge_cli_integers_never_trace_back() -> None:
    run_mlrun("experiments", "create", "--experiment-name", "e")
    token = base64.urlsafe_b64encode(json.dumps({"offset": 10**30}).encode()).decode()
    for argv in (
        ("runs", "search", "--experiment-id", "99999999999999999999"),
        ("experiments", "get", "--experiment-id", "99999999999999999999"),
        ("runs", "search", "--max-results", "9223372036854775807"),
        ("runs", "search", "--max-results", "99999999999999999999999"),
        ("runs", "search", "--page-token", token),
    ):
        result = run_mlrun(*argv)
        assert result.returncode in (0, 2), (argv, result.stderr)
        assert "Traceback" not in result.stderr, argv
