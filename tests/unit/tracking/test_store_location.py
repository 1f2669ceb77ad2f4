"""Where a tracking URI points: a PostgreSQL database is a location like a SQLite file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.tracking.store import resolve_location

if TYPE_CHECKING:
    from pathlib import Path


def test_a_postgresql_uri_is_a_database_with_a_local_artifact_folder(isolated: Path) -> None:
    location = resolve_location("postgresql://ana:sekret@db.internal:6543/team")
    assert location.database == "postgresql://ana:sekret@db.internal:6543/team"
    assert location.uri == location.database  # what the child process is handed
    assert "sekret" not in location.shown_uri
    assert location.shown_uri == "postgresql://ana:***@db.internal:6543/team"
    root = isolated.parent / "home" / "mlrun-home" / "postgres" / "db.internal-6543-team"
    assert location.artifact_root == root / "artifacts"
    assert location.owned_paths() == (root / "artifacts", root / "events")


def test_default_port_and_odd_characters_make_a_safe_folder_name() -> None:
    location = resolve_location("postgres://ana@db/my team?sslmode=require")
    assert location.artifact_root.parent.name == "db-5432-my_team"


def test_where_this_machine_stages_a_runs_files(isolated: Path) -> None:
    from mlrun_cli.tracking.store import open_location

    local = resolve_location()  # ./mlruns: the staging folder is the final one
    assert local.staging_dir("r1") == isolated / "mlruns" / "artifacts" / "r1"
    assert local.events_dir == isolated / "mlruns" / "events"
    server = resolve_location("http://mlrun.internal:5000")
    staging = isolated.parent / "home" / "mlrun-home" / "servers" / "mlrun.internal-5000"
    assert server.staging_dir("r1") == staging / "artifacts" / "r1"
    assert server.staging_root == staging / "artifacts"
    assert server.events_dir == staging / "events"
    store = open_location(local)
    try:
        assert store.location == local
        assert store.artifacts("r1").list() == []  # read through the protocol, never a path
    finally:
        store.close()
