"""Faults around the end of a run: signals during the final ingest, late loggers, a last line
without its newline. Once the entry point has exited, nothing it logged may be lost."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlrun_cli.tracking.sql.points import head
from tests.conftest import mlrun_argv, run_mlrun, write_project

pytestmark = pytest.mark.integration

POINTS = 150_000

# The entry point logs many points, then a helper outside its process group waits for it to
# exit and signals mlrun: the signal lands after the exit, while mlrun ingests.
LOGGER = textwrap.dedent(
    f"""
    import os, subprocess, sys, mlrun_cli
    subprocess.Popen([sys.executable, "-c", sys.argv[2], str(os.getpid()), str(os.getppid()),
                      sys.argv[1]], start_new_session=True)
    for i in range({POINTS}):
        mlrun_cli.log_metric("m", i, step=i)
    """
)
SIGNALLER = textwrap.dedent(
    """
    import os, signal, sys, time
    child, mlrun, signame = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    while os.path.exists(f"/proc/{child}") and open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.01)
    for name in signame.split("+"):
        os.kill(mlrun, getattr(signal, name))
        time.sleep(0.1)
    """
)


def _rows(sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(Path.cwd() / "mlruns" / "mlrun.db")
    conn.create_function("chunk_points", 1, lambda data: head(data)[0])  # a chunk's count
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("signals", ["SIGTERM", "SIGINT", "SIGINT+SIGINT"])
def test_a_signal_after_the_entry_point_exited_loses_nothing(tmp_path: Path, signals: str) -> None:
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    parameters:\n      sig: string\n      code: string\n"
        "    command: python log.py {sig} {code}\n",
        {"log.py": LOGGER},
    )
    proc = subprocess.run(
        mlrun_argv("run", str(project), "--env-manager", "local", "-P", f"sig={signals}",
                   "-P", f"code={SIGNALLER}"),
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr
    run_mlrun("runs", "search")  # finishes a run left to the next command (a second signal)
    assert _rows("SELECT status, exit_code FROM runs") == [("FINISHED", 0)]
    assert _rows("SELECT SUM(chunk_points(data)) FROM metric_chunks") == [(POINTS,)]
    assert list((Path.cwd() / "mlruns" / "events").iterdir()) == []
    if "+" not in signals:
        assert proc.returncode == 0, proc.stderr


def test_a_helper_logging_after_the_entry_point_returned_is_recorded(tmp_path: Path) -> None:
    helper = "import time, mlrun_cli\ntime.sleep(0.5)\nmlrun_cli.log_metric('late', 1)\n"
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    command: python main.py\n",
        {
            "main.py": f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {helper!r}])\n"
        },
    )
    result = run_mlrun("run", str(project), "--env-manager", "local", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"] == {"late": 1.0}
    assert list((Path.cwd() / "mlruns" / "events").iterdir()) == []


def test_a_helper_outliving_the_bound_is_named_and_leaves_no_stray_file(tmp_path: Path) -> None:
    done = tmp_path / "helper.done"
    helper = (
        "import time, pathlib, mlrun_cli\ntime.sleep(7)\n"
        "try:\n    mlrun_cli.log_metric('too_late', 1)\n"
        "except mlrun_cli.TrackingClientError as exc:\n"
        f"    pathlib.Path({str(done)!r}).write_text(str(exc))\n"
    )
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    command: python main.py\n",
        {"main.py": "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
                    f"{helper!r}], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"},
    )  # fmt: skip
    result = run_mlrun("run", str(project), "--env-manager", "local")
    assert result.returncode == 0, result.stderr
    assert "process(es) of the job still run after the entry point exited" in result.stderr
    while not done.exists():
        subprocess.run([sys.executable, "-c", "import time; time.sleep(0.2)"], check=True)
    assert "the run has already been recorded" in done.read_text()
    assert list((Path.cwd() / "mlruns" / "events").iterdir()) == []


def test_a_last_event_line_without_newline_is_ingested(tmp_path: Path) -> None:
    code = (
        "import os\nwith open(os.environ['MLRUN_EVENTS'], 'a') as f:\n"
        '    f.write(\'{"t":"metric","k":"last","v":2,"s":0,"ts":1}\')\n'
    )
    project = write_project(
        tmp_path / "p", "entry_points:\n  main:\n    command: python w.py\n", {"w.py": code}
    )
    result = run_mlrun("run", str(project), "--env-manager", "local", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"] == {"last": 2.0}


def test_no_events_file_is_created_outside_a_run(tmp_path: Path) -> None:
    events = tmp_path / "gone.jsonl"
    code = "import mlrun_cli\nmlrun_cli.log_metric('m', 1)\n"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False,
        env={**os.environ, "MLRUN_EVENTS": str(events)},
    )  # fmt: skip
    assert proc.returncode == 1
    assert "the run has already been recorded" in proc.stderr
    assert not events.exists()
