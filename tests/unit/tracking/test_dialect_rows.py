from __future__ import annotations

from mlrun_cli.tracking.sql.dialect import POSTGRESQL, SQLITE


def test_run_ids_go_as_one_array_literal_and_other_keys_as_a_list() -> None:
    source, arg = POSTGRESQL.rows_of("params", "run_id", ["ab12", "cd34"])
    assert "unnest(CAST(? AS TEXT[]))" in source
    assert arg == "{ab12,cd34}"  # no per-element quoting work in the driver
    _, odd = POSTGRESQL.rows_of("env_locks", "lock_hash", ["a,b", "c"])
    assert odd == ["a,b", "c"]  # quoted by the driver
    _, empty = POSTGRESQL.rows_of("params", "run_id", [])
    assert empty == "{}"
    _, sqlite_arg = SQLITE.rows_of("params", "run_id", ["ab12"])
    assert sqlite_arg == '["ab12"]'
