"""End to end: the real CLI in subprocesses, real projects in tmp_path, a real SQLite store."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlrun_cli.tracking.sql.points import head
from tests.conftest import EXAMPLE_PROJECT, mlrun_argv, run_mlrun, write_project

pytestmark = pytest.mark.integration


def store_rows(sql: str, *args: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(Path.cwd() / "mlruns" / "mlrun.db")
    conn.create_function("chunk_points", 1, lambda data: head(data)[0])  # a chunk's count
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_example_project_runs_and_is_recorded() -> None:
    result = run_mlrun(
        "run", str(EXAMPLE_PROJECT), "-P", "alpha=0.5", "--experiment-name", "wine", "--json"
    )
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "FINISHED"
    assert run["exit_code"] == 0
    assert run["params"] == {"alpha": "0.5", "l1_ratio": "0.1", "max_iter": "200", "seed": "42"}
    assert run["param_types"]["alpha"] == "float"
    assert set(run["metrics"]) >= {"rmse", "mae", "r2", "train_rmse", "train_loss"}
    assert run["tags"]["model"] == "elasticnet"
    paths = {a["path"] for a in run["artifacts"]}
    assert {"model.json", "coefficients.json", "_mlrun/output.log"} <= paths
    # The example lives in this repository: a dirty checkout is recorded with its patch.
    assert ("_mlrun/dirty.patch" in paths) == bool(run["source"]["dirty"])
    log = Path(run["artifact_uri"]) / "_mlrun/output.log"
    assert "ElasticNet(alpha=0.5" in log.read_text()
    assert "ElasticNet(alpha=0.5" in result.stderr  # --json moves the child's stdout to stderr
    assert run["source"]["kind"] in ("local", "local-git")
    listing = run_mlrun("runs", "search", "--experiment-name", "wine", "--json")
    assert [r["run_id"] for r in json.loads(listing.stdout)["runs"]] == [run["run_id"]]
    shown = run_mlrun("runs", "show", run["run_id"][:8])
    assert "wine (id 1)" in shown.stdout
    assert "rmse" in shown.stdout


def test_failing_entry_point(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    command: python fail.py\n",
        {"fail.py": "import mlrun_cli, sys\nmlrun_cli.log_metric('before', 1)\nsys.exit(3)\n"},
    )
    result = run_mlrun("run", str(project), "--json")
    assert result.returncode == 1
    run = json.loads(result.stdout)
    assert (run["status"], run["exit_code"]) == ("FAILED", 3)
    assert run["status_reason"] == "entry point exited with code 3"
    assert run["metrics"] == {"before": 1.0}


def test_spec_and_param_errors_create_no_run(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    parameters:\n      alpha: float\n    command: echo {alpha}\n",
    )
    result = run_mlrun("run", str(project), "-P", "alpha=abc")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: -P alpha=abc: expected a float for parameter 'alpha'"
    assert "Traceback" not in result.stderr
    (project / "MLproject").write_text(
        "entry_points:\n  main:\n    parameters:\n      a: {type: flaot}\n    command: x\n"
    )
    bad = run_mlrun("run", str(project))
    assert bad.returncode == 2
    assert "MLproject: entry_points.main.parameters.a.type: expected one of" in bad.stderr
    assert not (Path.cwd() / "mlruns").exists()  # nothing recorded, not even a store


def test_injection_is_printed_never_run(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    parameters:\n      name: string\n    command: echo {name}\n",
    )
    result = run_mlrun("run", str(project), "-P", "name=x; echo pwned")
    assert result.returncode == 0
    assert result.stdout == "x; echo pwned\n"


def test_child_api_error_is_clear(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    command: python bad.py\n",
        {"bad.py": "import mlrun_cli\nmlrun_cli.log_metric('acc', 'high')\n"},
    )
    result = run_mlrun("run", str(project))
    assert result.returncode == 1
    assert "TrackingClientError: metric 'acc': expected a number; got 'high'" in result.stderr


def test_ten_thousand_metric_points(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    command: python many.py\n",
        {
            "many.py": "import mlrun_cli\nfor i in range(10000):\n    mlrun_cli.log_metric('loss', 1.0 / (i + 1), step=i)\n"
        },
    )
    result = run_mlrun("run", str(project), "--json")
    run = json.loads(result.stdout)
    assert run["metrics"]["loss"] == 1.0 / 10000
    points = store_rows("SELECT SUM(chunk_points(c.data)) FROM metric_chunks c JOIN runs r "
                        "ON r.run_key = c.run_key WHERE r.run_id = ?", run["run_id"])  # fmt: skip
    assert points == [(10000,)]


SLEEPER = textwrap.dedent(
    """
    import os, sys, time, pathlib, mlrun_cli
    mlrun_cli.log_metric("started", 1)
    pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
    try:  # the signal may come as soon as the line is out: catch it from there on
        print("sleeping")
        time.sleep(60)
    except KeyboardInterrupt:
        time.sleep(1)  # a checkpoint being saved: must not be cut short by a second signal
        mlrun_cli.log_metric("interrupted", 1)
        raise
    """
)


def start_sleeper(tmp_path: Path, then: str = "") -> tuple[subprocess.Popen[str], Path]:
    marker = tmp_path / "child.pid"
    project = write_project(
        tmp_path / "p",
        f"entry_points:\n  main:\n    command: python sleeper.py {marker}{then}\n",
        {"sleeper.py": SLEEPER},
    )
    proc = subprocess.Popen(
        mlrun_argv("run", str(project)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # Output streams live: the line arrives while the child is still running.
    assert proc.stdout is not None
    assert proc.stdout.readline() == "sleeping\n"
    assert proc.poll() is None
    return proc, marker


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigint_kills_the_run_and_exits_130(tmp_path: Path) -> None:
    proc, marker = start_sleeper(tmp_path, then="; echo after")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    assert not pid_alive(int(marker.read_text()))  # the whole job got it, not just bash
    ((status, reason),) = store_rows("SELECT status, status_reason FROM runs")
    assert (status, reason) == ("KILLED", "interrupted (SIGINT)")
    assert store_rows("SELECT key FROM latest_metrics ORDER BY key") == [
        ("interrupted",),
        ("started",),
    ]


def test_sigterm_kills_the_run_and_exits_143(tmp_path: Path) -> None:
    proc, _ = start_sleeper(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    assert store_rows("SELECT status, status_reason FROM runs") == [
        ("KILLED", "interrupted (SIGTERM)")
    ]


def test_killed_parent_leaves_an_orphan_the_next_command_fails(tmp_path: Path) -> None:
    proc, marker = start_sleeper(tmp_path)
    proc.kill()
    proc.wait()
    # The job's output pipe is held by the relay, not by mlrun: the job survives its supervisor.
    assert pid_alive(int(marker.read_text()))
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()
    # mlrun is gone but the entry point still runs (and may still log): not reaped yet.
    assert (
        json.loads(run_mlrun("runs", "search", "--json").stdout)["runs"][0]["status"] == "RUNNING"
    )
    os.kill(int(marker.read_text()), signal.SIGKILL)
    listing = run_mlrun("runs", "search", "--json")
    (run,) = json.loads(listing.stdout)["runs"]
    assert run["status"] == "FAILED"
    assert "disappeared" in run["status_reason"]
    assert run["metrics"] == {"started": 1.0}
    assert [a["path"] for a in run["artifacts"]] == ["_mlrun/output.log"]
    assert run["artifacts"][0]["size"] == len("sleeping\n")  # written through, not buffered
    assert list((Path.cwd() / "mlruns" / "events").iterdir()) == []


def test_concurrent_reapers_ingest_each_event_once(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    command: python log.py\n",
        # flush(): SIGKILL loses what log_metric queued in the last 50 ms (not this test's point)
        {"log.py": "import os, signal, mlrun_cli\nfor i in range(20000):\n"
                   "    mlrun_cli.log_metric('m', i, step=i)\nmlrun_cli.flush()\n"
                   "os.kill(os.getppid(), signal.SIGKILL)\nos.killpg(0, signal.SIGKILL)\n"},
    )  # fmt: skip
    # The job kills mlrun (its parent: bash execs a single command), then itself.
    proc = subprocess.Popen(mlrun_argv("run", str(project)))
    proc.wait()
    readers = [
        subprocess.Popen(mlrun_argv("runs", "search", "--json"), stdout=subprocess.DEVNULL)
        for _ in range(3)
    ]
    for reader in readers:
        reader.wait(timeout=60)
    assert store_rows("SELECT SUM(chunk_points(data)) FROM metric_chunks") == [(20000,)]
    ((status, reason),) = store_rows("SELECT status, status_reason FROM runs")
    assert status == "FAILED"
    assert "disappeared" in str(reason)


def test_concurrent_runs_lose_nothing(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    parameters:\n      n: int\n    command: python log.py {n}\n",
        {"log.py": "import sys, mlrun_cli\nn = int(sys.argv[1])\nmlrun_cli.log_param('worker', n)\n"
                   "for i in range(2000):\n    mlrun_cli.log_metric('m', i, step=i)\n"},
    )  # fmt: skip
    procs = [
        subprocess.Popen(
            mlrun_argv("run", str(project), "-P", f"n={n}", "--experiment-name", "load"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert store_rows("SELECT status, COUNT(*) FROM runs GROUP BY status") == [("FINISHED", 8)]
    counts = store_rows(
        "SELECT run_key, SUM(chunk_points(data)) FROM metric_chunks GROUP BY run_key"
    )
    assert sorted(c for _, c in counts) == [2000] * 8
    assert sorted(
        int(str(v)) for (v,) in store_rows("SELECT value FROM params WHERE key = 'worker'")
    ) == list(range(8))


def test_direct_mode_outside_mlrun_run(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import mlrun_cli\nmlrun_cli.log_param('a', 1)\nmlrun_cli.log_metric('m', 2.5)\n"
    )
    env = {**os.environ, "MLRUN_EXPERIMENT_NAME": "notebook"}
    subprocess.run([sys.executable, str(script)], check=True, env=env)
    listing = run_mlrun("runs", "search", "--experiment-name", "notebook", "--json")
    (run,) = json.loads(listing.stdout)["runs"]
    assert (run["status"], run["params"], run["metrics"]) == ("FINISHED", {"a": "1"}, {"m": 2.5})
    failing = tmp_path / "fail.py"
    failing.write_text("import mlrun_cli\nmlrun_cli.log_metric('m', 1)\nraise SystemExit(bad)\n")
    subprocess.run([sys.executable, str(failing)], check=False, env=env, capture_output=True)
    statuses = {
        r["status"] for r in json.loads(run_mlrun("runs", "search", "--json").stdout)["runs"]
    }
    assert statuses == {"FINISHED", "FAILED"}


def test_param_given_with_p_cannot_change_in_the_child(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    parameters: {epochs: int}\n    command: python t.py\n",
        {
            "t.py": "import mlrun_cli\nmlrun_cli.log_param('epochs', 10)\nmlrun_cli.log_param('epochs', 20)\n"
        },
    )
    result = run_mlrun("run", str(project), "-P", "epochs=10")
    assert result.returncode == 1
    assert "param 'epochs' was already logged as '10'" in result.stderr


def test_store_inside_the_project_is_not_code(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n")
    hashes = set()
    for _ in range(2):
        result = run_mlrun(
            "run", ".", "--env-manager", "local", "--tracking-uri", "store", "--json", cwd=project
        )
        hashes.add(json.loads(result.stdout)["source"]["content_hash"])
    assert len(hashes) == 1


def test_closed_output_pipe_keeps_the_exit_code(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", "entry_points:\n  main:\n    command: python big.py\n",
        {"big.py": "for i in range(20000):\n    print('line', i)\n"},
    )  # fmt: skip
    argv = " ".join(mlrun_argv("run", str(project), "--env-manager", "local"))
    result = subprocess.run(
        ["bash", "-c", f"{argv} 2>&1 | head -1; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_direct_mode_records_exit_codes_and_threads(tmp_path: Path) -> None:
    script = tmp_path / "t.py"
    script.write_text(
        "import sys, threading, mlrun_cli\n"
        "t = threading.Thread(target=lambda: mlrun_cli.log_metric('from_thread', 1))\n"
        "t.start(); t.join()\nmlrun_cli.log_metric('main', 2)\nsys.exit(2)\n"
    )
    subprocess.run([sys.executable, str(script)], check=False, capture_output=True)
    (run,) = json.loads(run_mlrun("runs", "search", "--json").stdout)["runs"]
    assert (run["status"], run["exit_code"]) == ("FAILED", 2)
    assert run["metrics"] == {"from_thread": 1.0, "main": 2.0}
