"""The fast path (cli/_fast.py) answers exactly as the typer app does, or hands over to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun_cli.cli import _fast
from mlrun_cli.cli.app import typer_main
from tests.cli.helpers import record_run
from tests.conftest import mlrun_argv, run_mlrun

PROBE = """
import json, sys
from mlrun_cli.cli import app
sys.argv = ["mlrun", *json.loads(sys.argv[1])]
try:
    app.main()
except SystemExit:
    pass
sys.stderr.write(json.dumps({"typer": "typer" in sys.modules}) + "\\n")
"""


def typer_imported(*args: str) -> bool:
    argv = [sys.executable, "-c", PROBE, json.dumps(list(args))]
    out = subprocess.run(argv, capture_output=True, text=True, check=True)
    return bool(json.loads(out.stderr.splitlines()[-1])["typer"])


def test_the_tables_mirror_the_typer_commands() -> None:
    """Every spelling the parser knows is the same kind of parameter in the typer command."""
    from typer._click.types import IntRange
    from typer.core import TyperArgument as Argument
    from typer.core import TyperGroup as Group
    from typer.core import TyperOption as Option
    from typer.main import get_command

    from mlrun_cli.cli.app import app

    root = get_command(app)
    for path, spec in _fast.SPECS.items():
        command = root
        for word in path:
            assert isinstance(command, Group)
            command = command.commands[word]
        for spelling, (name, kind) in spec.items():
            [param] = [
                p
                for p in command.params
                if (spelling in p.opts if spelling else isinstance(p, Argument))
            ]
            assert param.name == name, (path, spelling)
            if kind == _fast.FLAG:
                assert isinstance(param, Option)
                assert param.is_flag
            elif kind == _fast.MULTI:
                assert param.multiple
            else:
                assert not param.multiple
                assert param.nargs == 1
                assert not (isinstance(param, Option) and param.is_flag)
            if kind == _fast.COUNT:
                assert isinstance(param.type, IntRange)
                assert param.type.min == 1


@pytest.fixture
def recorded() -> list[str]:
    return [
        record_run("wine", "first", {"alpha": "0.5"}, {"rmse": [0.7, 0.6]}, {"team": "x"}),
        record_run("wine", "second", {"alpha": "0.1"}, {"rmse": [0.6]}),
        record_run("beer", "third", {"alpha": "0.1"}, {"rmse": [0.5]}),
    ]


FAST = [
    ["--version"],
    ["experiments", "search"],
    ["experiments", "search", "--json", "--view", "all"],
    ["experiments", "search", "-v", "deleted", "--wide"],
    ["experiments", "search", "--filter", "name LIKE 'w%'", "--max-results", "1"],
    ["experiments", "search", "--view=bogus"],
    ["experiments", "search", "--filter", "name ==="],
    ["runs", "search"],
    ["runs", "search", "-n", "wine", "--experiment-name", "beer", "--wide"],
    ["runs", "search", "-x", "1", "--order-by", "metrics.rmse ASC", "--json"],
    ["runs", "search", "--filter", "params.alpha = '0.1'", "-f", "csv", "--columns", "run_id"],
    ["runs", "search", "--format=json", "--max-results", "1"],
    ["runs", "search", "--max-results", "1"],  # the page-token hint on stderr
    ["runs", "search", "--columns", "nope"],
    ["runs", "search", "-f", "xml"],
    ["runs", "search", "--experiment-name", "nope"],
    ["runs", "search", "--filter", "metrics.rmse <"],
    ["runs", "show", "RUN0"],
    ["runs", "show", "PREFIX1", "--json"],
    ["runs", "show", "-r", "RUN2"],
    ["runs", "show"],
    ["runs", "show", "RUN0", "--run-id", "RUN1"],
    ["runs", "show", "0000ffff"],
    ["runs", "show", "zz"],
]
HANDED_OVER = [
    ["runs", "search", "--max-results", "0"],
    ["runs", "search", "--max-results", "x"],
    ["runs", "search", "--bogus"],
    ["runs", "search", "--json=1"],
    ["runs", "search", "-fcsv"],
    ["runs", "search", "--filter"],
    ["runs", "search", "--filter", "-x"],
    ["runs", "search", "extra"],
    ["runs", "search", "--view", "all", "--view", "deleted"],
    ["experiments", "search", "--json", "--json"],
    ["runs", "show", "RUN0", "RUN1"],
    ["runs", "show", "--"],
    ["runs", "list"],
    ["--debug", "runs", "search"],
]


def _concrete(args: list[str], ids: list[str]) -> list[str]:
    names = {f"RUN{i}": run_id for i, run_id in enumerate(ids)}
    names |= {f"PREFIX{i}": run_id[:8] for i, run_id in enumerate(ids)}
    return [names.get(arg, arg) for arg in args]


@pytest.mark.parametrize("args", FAST + HANDED_OVER, ids=" ".join)
def test_same_output_errors_and_exit_codes_as_typer(
    args: list[str], recorded: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    args = _concrete(args, recorded)
    handed: list[list[str]] = []

    def fallback(given: list[str]) -> int:
        handed.append(given)
        return typer_main(given)

    fast_code = _fast.serve(args, fallback)
    fast = capsys.readouterr()
    typer_code = typer_main(args)
    slow = capsys.readouterr()
    assert (fast_code, fast.out, fast.err) == (typer_code, slow.out, slow.err)
    assert handed == ([] if args in [_concrete(a, recorded) for a in FAST] else [args])


def test_run_takes_the_fast_path_with_the_same_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "work" / "p"
    project.mkdir()
    (project / "MLproject").write_text("entry_points:\n  main:\n    command: python -c pass\n")
    assert not typer_imported("run", str(project), "--env-manager", "local", "-q")
    for args in (["run", str(project), "--env-manager", "local", "-P", "alpha"],
                 ["run", str(project), "--no-wait"], ["run", "nowhere", "-e", "x"],
                 ["run", str(project), "--run-id", "abc"]):  # fmt: skip
        fast_code = _fast.serve(args, lambda _: pytest.fail("handed over"))
        fast = capsys.readouterr()
        assert (fast_code, fast.out, fast.err) == (typer_main(args), *capsys.readouterr())
        assert fast.err.startswith("error: ")
    for args in (["run"], ["run", "a", "b"], ["run", ".", "-P"], ["run", ".", "--bogus"]):
        handed: list[list[str]] = []

        def fallback(given: list[str], handed: list[list[str]] = handed) -> int:
            handed.append(given)
            return typer_main(given)

        code = _fast.serve(args, fallback)
        assert handed == [args]
        assert code == 2
        assert capsys.readouterr().err.startswith("error: ")


def test_hot_commands_and_cached_help_import_no_typer(recorded: list[str]) -> None:
    assert not typer_imported("experiments", "search")
    assert not typer_imported("runs", "search", "--filter", "metrics.rmse < 1", "--json")
    assert not typer_imported("runs", "show", recorded[0][:8])
    assert typer_imported("runs", "search", "--bogus")  # click's own error
    assert typer_imported("runs", "search", "--help")  # rendered once by typer...
    assert not typer_imported("runs", "search", "--help")  # ...then served from the cache
    assert typer_imported("--help")
    assert not typer_imported("-h")  # the same text as --help, the same file


def _help_file(home: Path, name: str, columns: str) -> Path:
    return home / "mlrun-cache" / "help" / f"{name}.{columns}.txt"


def test_help_cache_is_keyed_by_width_and_fingerprint(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run_mlrun("runs", "--help")
    assert first.returncode == 0
    assert "Commands:" in first.stdout
    cached = _help_file(home, "mlrun_runs", "78")  # 80 columns, less click's margin
    stamp, _, text = cached.read_text().partition("\n")
    assert text == first.stdout
    assert stamp == _fast.fingerprint()
    assert run_mlrun("runs", "--help").stdout == first.stdout  # served from the file
    cached.write_text(f"{stamp}\nthe cached text\n")
    assert run_mlrun("runs", "--help").stdout == "the cached text\n"  # (proves it is used)
    cached.write_text("mlrun 0.0.0 elsewhere\nstale text\n")  # another version rendered it
    assert run_mlrun("runs", "--help").stdout == first.stdout
    assert cached.read_text().partition("\n")[2] == first.stdout  # rendered again, kept
    narrow = subprocess.run(mlrun_argv("runs", "--help"), capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "60"}, check=True)  # fmt: skip
    assert _help_file(home, "mlrun_runs", "58").is_file()
    assert max(map(len, narrow.stdout.splitlines())) <= 60
    subprocess.run(mlrun_argv("runs", "--help"), capture_output=True, text=True,
                   env={**os.environ, "COLUMNS": "200"}, check=True)  # fmt: skip
    names = {p.name for p in (home / "mlrun-cache" / "help").iterdir()}
    assert names == {"mlrun_runs.78.txt", "mlrun_runs.58.txt"}  # click wraps at 80 at most


def test_help_errors_are_never_cached_and_an_unwritable_cache_is_no_error(tmp_path: Path) -> None:
    wrong = run_mlrun("runs", "nope", "--help")
    assert wrong.returncode == 2
    assert "error: No such command 'nope'" in wrong.stderr
    assert not _help_file(tmp_path / "home", "mlrun_runs_nope", "78").exists()
    blocked = tmp_path / "home" / "mlrun-cache"
    blocked.write_text("a file where the cache folder would be")
    shown = run_mlrun("--help")
    assert shown.returncode == 0
    assert "Commands:" in shown.stdout
    assert shown.stderr == ""


def test_a_body_ending_in_typer_exit_gives_its_code(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    def body(_: dict[str, object]) -> None:
        raise typer.Exit(3)

    monkeypatch.setitem(_fast.BODIES, ("runs", "show"), body)
    assert _fast.serve(["runs", "show", "abcd"], lambda _: pytest.fail("handed over")) == 3
