"""Sweeps end to end: the real CLI, real trial runs in parallel, a real SQLite store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import textwrap
from pathlib import Path

import pytest

from tests.conftest import mlrun_argv, run_mlrun, write_project
from tests.integration.remote_checks import slow_run

pytestmark = pytest.mark.integration

MLPROJECT = textwrap.dedent(
    """\
    name: tiny
    entry_points:
      main:
        parameters:
          x: {type: float, default: 0.0}
          n: {type: int, default: 1}
        command: "python train.py {x} {n}"
    """
)
TRAIN = textwrap.dedent(
    """\
    import os, pathlib, sys, time
    import mlrun_cli
    x, n = float(sys.argv[1]), int(sys.argv[2])
    print(f"training x={x} n={n}")
    slow = os.environ.get("SLOW_FROM")
    if slow is not None and x >= float(slow):
        pathlib.Path(os.environ["MARKERS"], f"{x}").write_text("started")
        time.sleep(120)
    mlrun_cli.log_metric("loss", (x - 0.3) ** 2 + n)
    """
)


def store_rows(sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(Path.cwd() / "mlruns" / "mlrun.db")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.fixture
def project(isolated: Path) -> Path:
    return write_project(isolated / "proj", MLPROJECT, {"train.py": TRAIN})


def sweep(project: Path, *args: str) -> dict[str, object]:
    result = run_mlrun("sweep", str(project), "--env-manager", "local", "--json", *args)
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_grid_of_six_with_two_jobs_records_trials_under_a_parent(project: Path) -> None:
    result = run_mlrun("sweep", str(project), "--env-manager", "local", "-P", "x=0.1,0.3,0.5",
                       "-P", "n=range(1,3)", "-j", "2", "--metric", "loss")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["run_id", "status", "x", "n", "loss"]
    assert len(lines) == 7
    assert all(len(line) <= 80 for line in lines)
    assert lines[1].split()[2:] == ["0.3", "1", "1"]  # sorted by loss, best first
    assert "best: run" in result.stderr
    assert "loss=1" in result.stderr
    assert "training x=" not in result.stdout + result.stderr  # trial output: its log only
    parents = store_rows("SELECT run_id, status FROM runs WHERE run_key IN (SELECT run_key FROM "
                         "tags WHERE key = 'mlrun.sweep.kind')")  # fmt: skip
    assert len(parents) == 1
    assert parents[0][1] == "FINISHED"
    parent_id = parents[0][0]
    trials = store_rows("SELECT t.value FROM tags t WHERE t.key = 'mlrun.parent_run_id' AND t.value = ?",
                        parent_id)  # fmt: skip
    assert len(trials) == 6
    listing = run_mlrun("runs", "search", "--filter", f"parent_run_id = '{parent_id}'",
                        "--json")  # fmt: skip
    runs = json.loads(listing.stdout)["runs"]
    assert {r["status"] for r in runs} == {"FINISHED"}
    assert {(r["params"]["x"], r["params"]["n"]) for r in runs} == {
        (x, n) for x in ("0.1", "0.3", "0.5") for n in ("1", "2")
    }
    one = runs[0]
    log = Path(one["artifact_uri"]) / "_mlrun" / "output.log"
    assert f"training x={one['params']['x']}" in log.read_text()
    shown = run_mlrun("runs", "logs", one["run_id"])
    assert f"training x={one['params']['x']}" in shown.stdout
    parent = run_mlrun("runs", "show", parent_id, "--json")
    assert json.loads(parent.stdout)["metrics"]["loss"] == 1.0
    # Rerun: every trial is reused by its fingerprint; nothing runs again.
    again = sweep(project, "-P", "x=0.1,0.3,0.5", "-P", "n=range(1,3)", "-j", "2")
    trials_again = again["trials"]
    assert isinstance(trials_again, list)
    assert all(t["reused"] for t in trials_again)
    assert len(store_rows("SELECT value FROM tags WHERE key = 'mlrun.parent_run_id'")) == 6


def test_bad_values_are_refused_before_anything_runs(project: Path) -> None:
    result = run_mlrun("sweep", str(project), "--env-manager", "local", "-P", "x=0.1,abc")
    assert result.returncode == 2
    assert "error: -P x: value 'abc': expected a float for parameter 'x'" in result.stderr
    assert not (Path.cwd() / "mlruns" / "mlrun.db").exists() or not store_rows(
        "SELECT run_id FROM runs"
    )
    bad = run_mlrun("sweep", str(project), "--env-manager", "local", "-P", "n=uniform(0,2)",
                    "--random", "3")  # fmt: skip
    assert bad.returncode == 2
    assert "use int(low,high)" in bad.stderr


def test_an_unreachable_server_fails_the_sweep_with_a_hint_that_fits(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.server.process import free_port

    monkeypatch.setenv("MLRUN_TRACKING_RETRY_SECONDS", "0.5")
    result = run_mlrun("sweep", str(project), "--env-manager", "local", "-P", "x=0.1,0.2",
                       "--tracking-uri", f"http://127.0.0.1:{free_port()}")  # fmt: skip
    assert result.returncode != 0
    assert "is unreachable" in result.stderr
    assert "nothing was started or recorded" in result.stderr
    assert "mlrun sync" not in result.stderr


def test_random_sweep_is_seeded(project: Path) -> None:
    first = sweep(project, "-P", "x=uniform(0,1)", "-P", "n=int(1,3)", "--random", "3", "-j", "2")
    trials = first["trials"]
    assert isinstance(trials, list)
    assert len(trials) == 3
    again = sweep(project, "-P", "x=uniform(0,1)", "-P", "n=int(1,3)", "--random", "3")
    assert [t["params"] for t in again["trials"]] == [t["params"] for t in trials]  # type: ignore[index]


def test_sigint_kills_running_trials_and_rerun_resumes(project: Path, tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {**os.environ, "SLOW_FROM": "0.25", "MARKERS": str(markers)}
    argv = mlrun_argv("sweep", str(project), "--env-manager", "local", "-P", "x=0.1,0.2,0.3,0.4",
                      "-j", "2", "--metric", "loss")  # fmt: skip
    with slow_run(argv, markers, count=2, env=env) as slow:  # both slow trials are running
        slow.proc.send_signal(signal.SIGINT)
    assert slow.returncode == 130, slow.err
    statuses = sorted(str(s) for (s,) in store_rows("SELECT status FROM runs"))
    assert statuses == ["FINISHED", "FINISHED", "KILLED", "KILLED", "KILLED"]  # + the parent
    assert not store_rows("SELECT run_id FROM runs WHERE status = 'RUNNING'")
    result = run_mlrun("sweep", str(project), "--env-manager", "local", "-P", "x=0.1,0.2,0.3,0.4",
                       "-j", "2", "--metric", "loss", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    trials = json.loads(result.stdout)["trials"]
    assert [t["reused"] for t in trials] == [True, True, False, False]
    assert {t["status"] for t in trials} == {"FINISHED"}


def test_optuna_study_is_stored_with_the_sweep_and_resumes(project: Path) -> None:
    pytest.importorskip("optuna", reason="the optuna extra is not installed")
    args = ("-P", "x=uniform(0,1)", "-P", "n=1", "--optuna", "--metric", "loss", "-j", "2")
    first = sweep(project, *args, "--n-trials", "4")
    trials = first["trials"]
    assert isinstance(trials, list)
    assert len(trials) == 4
    assert {t["status"] for t in trials} == {"FINISHED"}
    parent = first["parent"]
    assert isinstance(parent, dict)
    study = Path(parent["artifact_uri"]) / "_mlrun" / "optuna.journal"
    assert study.is_file()
    assert "_mlrun/optuna.journal" in {a["path"] for a in parent["artifacts"]}
    # More trials: the same study goes on (4 earlier trials kept, 2 new ones asked).
    more = sweep(project, *args, "--n-trials", "6")
    new = [t for t in more["trials"] if not t["reused"]]  # type: ignore[union-attr]
    assert len(new) == 2
    assert len(more["trials"]) == 6  # type: ignore[arg-type]
    best = min(t["metrics"]["loss"] for t in more["trials"])  # type: ignore[union-attr]
    winner = next(t for t in more["trials"] if t["run_id"] == more["best_run_id"])  # type: ignore[union-attr]
    assert winner["metrics"]["loss"] == best


OPTUNA = ("-P", "x=uniform(0,1)", "-P", "n=1", "--optuna", "--metric", "loss", "-j", "2")


def test_optuna_resumed_after_sigint_runs_n_trials_that_ended(
    project: Path, tmp_path: Path
) -> None:
    pytest.importorskip("optuna", reason="the optuna extra is not installed")
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {**os.environ, "SLOW_FROM": "0", "MARKERS": str(markers)}
    argv = mlrun_argv("sweep", str(project), "--env-manager", "local", *OPTUNA, "--n-trials", "3")
    with slow_run(argv, markers, count=2, env=env) as slow:
        slow.proc.send_signal(signal.SIGINT)
    assert slow.returncode == 130, slow.err
    killed = store_rows("SELECT run_id FROM runs WHERE status = 'KILLED'")
    assert len(killed) == 3  # two trials and the parent
    again = sweep(project, *OPTUNA, "--n-trials", "3")
    trials = again["trials"]
    assert isinstance(trials, list)
    assert [t["status"] for t in trials] == ["FINISHED"] * 3  # the killed ones do not count
    assert not any(t["reused"] for t in trials)


def test_optuna_study_resumes_from_the_store_alone(project: Path) -> None:
    pytest.importorskip("optuna", reason="the optuna extra is not installed")
    first = sweep(project, *OPTUNA, "--n-trials", "4")
    parent = first["parent"]
    assert isinstance(parent, dict)
    # As on another machine: no journal file of the first sweep, only what the store holds.
    (Path(parent["artifact_uri"]) / "_mlrun" / "optuna.journal").unlink()
    more = sweep(project, *OPTUNA, "--n-trials", "6")
    trials = more["trials"]
    assert isinstance(trials, list)
    assert len([t for t in trials if not t["reused"]]) == 2
    assert len(trials) == 6


def test_example_project_sweep_shares_one_uv_environment() -> None:
    from tests.conftest import EXAMPLE_PROJECT

    result = run_mlrun("sweep", str(EXAMPLE_PROJECT), "-P", "alpha=0.1,0.5", "-P",
                       "l1_ratio=range(0,1,0.5)", "-j", "2", "--metric", "rmse",
                       "--experiment-name", "wine", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    trials = data["trials"]
    assert [t["status"] for t in trials] == ["FINISHED"] * 4
    runs = [json.loads(run_mlrun("runs", "show", t["run_id"], "--json").stdout) for t in trials]
    assert len({r["tags"]["mlrun.env.key"] for r in runs}) == 1  # one environment for all
    assert len({r["fingerprint"] for r in runs}) == 4
    best = min(trials, key=lambda t: t["metrics"]["rmse"])
    assert data["best_run_id"] == best["run_id"]


def test_a_local_sweep_records_into_the_team_server(
    project: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.remote_checks import EXPERIMENT, assert_sweep_recorded, team_server

    with team_server(isolated, monkeypatch) as team:
        result = run_mlrun("sweep", str(project), "--env-manager", "local", "-P", "x=0.1,0.3,0.5",
                           "-j", "2", "--metric", "loss", "--experiment-name", EXPERIMENT,
                           "--tracking-uri", team.url, "--json")  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert_sweep_recorded(result.stdout, team.url)
        assert not (isolated / "mlruns").exists()
        again = run_mlrun("sweep", str(project), "--env-manager", "local", "-P", "x=0.1,0.3,0.5",
                          "--experiment-name", EXPERIMENT, "--tracking-uri", team.url, "--json")  # fmt: skip
        assert [t["reused"] for t in json.loads(again.stdout)["trials"]] == [True] * 3
