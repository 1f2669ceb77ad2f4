"""Tables fit the terminal: COLUMNS (80 when piped), elision, dropped columns with a footer,
columns a filter or sort names always shown, hashes shortened, control characters escaped."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from mlrun_cli.cli._table import Table, elide, printable, width_of
from tests.cli.helpers import COMMIT, LOCK_HASH, mlrun, record_run

WIDE_PARAMS = {f"param_{i:02d}": f"value-{i}-" + "x" * 20 for i in range(8)}


@pytest.fixture
def sweep() -> list[str]:
    ids = []
    for index in range(3):
        params = {**WIDE_PARAMS, "alpha": str(0.1 * (index + 1)), "zeta": str(index)}
        params = {k: (v if k in ("alpha", "zeta") else f"{v}{index}") for k, v in params.items()}
        curves = {"rmse": [1.0 - 0.1 * index, 0.9 - 0.1 * index], "loss": [2.0, 1.0 + index]}
        name = "a-rather-long-run-name-that-goes-on-" + str(index)
        ids.append(record_run("sweep", name, params, curves, {"note": "n" * 60 + str(index)}))
    return ids


def lines_of(text: str) -> list[str]:
    return text.splitlines()


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "search"],
        ["runs", "search", "--order-by", "params.zeta DESC"],
        ["runs", "compare", "--all", "RUN0", "RUN1", "RUN2"],
        ["runs", "metric", "RUN0", "RUN1", "RUN2", "rmse"],
        ["experiments", "search"],
        ["env", "list"],
    ],
)
def test_every_table_fits_80_columns(
    sweep: list[str], args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = [sweep[int(a[3:])] if a.startswith("RUN") else a for a in args]
    code, out, _ = mlrun(*args)
    assert code == 0
    assert lines_of(out)
    assert max(width_of(line) for line in lines_of(out)) <= 80


def test_columns_setting_and_wide(sweep: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    _, out, err = mlrun("runs", "search")
    assert max(len(line) for line in lines_of(out)) <= 50
    assert "more column(s): " in err
    assert err.rstrip().endswith("(--wide, --columns)")
    _, wide, err = mlrun("runs", "search", "--wide")
    assert max(len(line) for line in lines_of(wide)) > 80
    assert "more column(s)" not in err
    for key in WIDE_PARAMS:
        assert f"params.{key}" in lines_of(wide)[0]


def test_piped_default_is_80(sweep: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    _, out, _ = mlrun("runs", "search")
    assert max(len(line) for line in lines_of(out)) <= 80


def test_filter_and_order_columns_always_shown(
    sweep: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _, out, err = mlrun("runs", "search", "--order-by", "params.zeta DESC")
    header = lines_of(out)[0]
    assert "params.zeta" in header
    assert "params.zeta" not in err
    _, out, _ = mlrun("runs", "search", "--filter", "tags.note LIKE 'n%' and metrics.loss > 0")
    header = lines_of(out)[0]
    assert "tags.note" in header  # does not vary... it does here; named by the filter anyway
    assert "metrics.loss" in header
    same = record_run("other", "r", {"same": "1"}, {"m": [1.0]})
    record_run("other", "s", {"same": "1"}, {"m": [2.0]})
    _, out, _ = mlrun("runs", "search", "-n", "other", "--filter", "params.same = '1'")
    assert "params.same" in lines_of(out)[0]  # identical in every run, still shown
    assert same[:8] in out


def test_hashes_short_in_tables_full_in_json_and_csv(sweep: list[str]) -> None:
    _, out, _ = mlrun("runs", "search", "--columns", "run_id,commit,env_lock,fingerprint")
    row = lines_of(out)[1].split()
    assert row == [sweep[-1][:8], COMMIT[:12], LOCK_HASH[:12], "fp1:" + "cd" * 6]
    _, out, _ = mlrun("runs", "search", "-f", "csv", "--columns", "run_id,commit,env_lock")
    assert list(csv.reader(io.StringIO(out)))[1] == [sweep[-1], COMMIT, LOCK_HASH]
    _, out, _ = mlrun("runs", "search", "--json")
    assert json.loads(out)["runs"][0]["source"]["commit"] == COMMIT
    _, out, _ = mlrun("runs", "compare", "--all", sweep[0], sweep[1])
    commit_row = next(line for line in lines_of(out) if "commit" in line)
    assert COMMIT[:12] in commit_row
    assert COMMIT[:13] not in commit_row


def test_long_values_are_elided(sweep: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = mlrun("runs", "search", "--columns", "run_id,run_name,tags.note")
    assert "…" in out
    assert max(len(line) for line in lines_of(out)) <= 80


def test_control_characters_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    evil = "evil\x1b]0;pwned\x07\x1b[2J\nrow"
    run_id = record_run("ctl\x1b[31m", evil, {"p": "a\nb"}, {"m": [1.0]}, {"t": "\x1b[8mhidden"})
    for args in (
        ["runs", "search", "--columns", "run_id,run_name,params.p,tags.t"],
        ["experiments", "search"],
        ["runs", "show", run_id],
        ["runs", "compare", "--all", run_id, record_run("x", "ok", {"p": "c"}, {"m": [2.0]})],
    ):
        code, out, err = mlrun(*args)
        assert code == 0, err
        assert "\x1b" not in out
        assert "\x07" not in out
    _, out, _ = mlrun(
        "runs", "search", "--columns", "run_name,params.p", "--filter", "run_name LIKE 'evil%'"
    )
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\nrow" in out
    assert "a\\nb" in out
    assert len(lines_of(out)) == 2  # the newline in the value did not add a row


def test_table_unit_behaviour() -> None:
    table = Table(["id", "name", "note"], keep={2})
    table.add_row("abc", "n" * 50, "keep me")
    text = table.render(colour=False, width=30)
    assert max(len(line) for line in text.splitlines()) <= 30
    assert "note" in text.splitlines()[0]
    assert table.dropped == []
    assert elide("abcdef", 4) == "abc…"
    assert elide("/very/long/path/project", 10, keep_end=True) == "…h/project"
    assert printable("a\tb\x00") == "a\\tb\\x00"
    assert width_of("日本") == 4
    narrow = Table(["a", "b", "c"])
    narrow.add_row("x" * 30, "y" * 30, "z" * 30)
    narrow.render(colour=False, width=40)
    assert narrow.dropped == []  # elided to 6 columns each before anything is dropped
    narrow.render(colour=False, width=15)
    assert narrow.dropped == ["c"]


def test_env_list_shows_recognisable_projects(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlrun_cli import paths

    cache = paths.env_cache_dir() / ("e" * 64)
    cache.mkdir(parents=True)
    (cache / "mlrun-env.json").write_text(json.dumps({"python": "3.11.7", "builder": "uv"}))
    home_project = Path.home() / "work" / "wine"
    mirror = paths.git_cache_dir() / "mirrors" / "k1.git"
    mirror.mkdir(parents=True)
    (mirror / "config").write_text(
        '[core]\n\tbare = true\n[remote "origin"]\n\turl = https://u:tok@example.invalid/r.git\n'
    )
    checkout = paths.git_cache_dir() / "checkouts" / "k1" / COMMIT / "models"
    (cache / "mlrun-projects").write_text(f"{home_project}\n{checkout}\n")
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = mlrun("env", "list")
    assert out.splitlines()[1].endswith("#models (+1 more: --wide)")  # the newest, and a count
    monkeypatch.setenv("COLUMNS", "200")
    _, out, _ = mlrun("env", "list", "--wide")
    assert "~/work/wine" in out
    assert f"https://***@example.invalid/r.git@{COMMIT[:12]}#models" in out
    assert "tok" not in out
    assert os.fspath(paths.git_cache_dir()) not in out


def test_middle_elision_keeps_both_ends() -> None:
    from mlrun_cli.cli._table import elide_middle

    assert elide_middle("training_root_mean_squared_error", 20) == "training_r…red_error"
    assert elide_middle("short", 17) == "short"
    assert width_of(elide_middle("名前名前名前名前", 7)) <= 7


def test_a_key_column_gives_way_last() -> None:
    """The verify table in 80 columns: metric names that differ in the middle stay apart."""
    table = Table(["check", "key", "original", "reproduced", "match"], keep={4}, fixed={4},
                  middle={1})  # fmt: skip
    for key in ("training_mean_squared_error", "training_root_mean_squared_error"):
        table.add_row("metric", key, "0.012345678901234567", "0.012345678901234567", "yes")
    lines = table.render(colour=False, width=80).splitlines()[1:]
    assert len({line.split()[1] for line in lines}) == 2
    assert all(line.count("0.012345678901234567") == 2 for line in lines)  # numbers whole
    narrow = [line.split()[1] for line in table.render(colour=False, width=60).splitlines()[1:]]
    assert len(set(narrow)) == 2
    assert all(k.startswith("training_") and k.endswith("_error") for k in narrow)


def test_numbers_are_never_cut_their_column_goes_first() -> None:
    table = Table(["field", "a", "b", "c"], keep={0, 1})
    table.add_row("metrics.loss", "0.0689655", "0.142857", "0.0689655")
    table.add_row("commit", "f2d4eb229cb2", "f2d4eb229cb2", "abcdefabcdef")
    text = table.render(colour=False, width=36)
    assert text.splitlines()[1].split()[1:] == ["0.0689655", "0.142857"]  # whole; c dropped
    assert table.dropped
    assert max(len(line) for line in text.splitlines()) <= 36


def test_compare_of_six_runs_at_80_columns_cuts_no_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [record_run("six", f"r{i}", {"alpha": str(i)}, {"loss": [1 / (i + 14.5)]})
           for i in range(6)]  # fmt: skip
    monkeypatch.setenv("COLUMNS", "80")
    _, out, err = mlrun("runs", "compare", *ids, "--all")
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    loss = next(line for line in lines if "metrics.loss" in line)
    assert "…" not in loss.split("metrics.loss", 1)[1]
    assert "more column(s)" in err or len(loss.split()) == 8


def test_artifact_uris_keep_their_distinct_end(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [record_run("uris", f"r{i}", {}, {"loss": [0.5]}) for i in range(2)]
    monkeypatch.setenv("COLUMNS", "40")
    _, out, _ = mlrun("runs", "search", "--experiment-name", "uris", "--columns",
                      "run_id,artifact_uri")  # fmt: skip
    rows = out.splitlines()[1:]
    assert len({row.split()[1] for row in rows}) == 2, out
    by_id = {i[:8]: i for i in ids}
    assert all(by_id[row.split()[0]].endswith(row.split()[1].lstrip("…")) for row in rows), out
