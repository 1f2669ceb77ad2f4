"""The child process: escalation reaches every process of the job's group, output is written
through to the log, and the outcome says which processes outlived the entry point."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from mlrun_cli.execution import process, relay
from mlrun_cli.execution.process import Request, run_process


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _signal_when(path: Path, signum: int, *, twice: bool = False) -> threading.Thread:
    def send() -> None:
        while not path.exists() or not path.read_text().strip():
            threading.Event().wait(0.02)
        os.kill(os.getpid(), signum)
        if twice:
            threading.Event().wait(0.2)
            os.kill(os.getpid(), signum)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("twice", [False, True])
def test_interrupt_escalates_until_the_whole_group_is_gone(tmp_path: Path, twice: bool) -> None:
    """`cmd &` jobs start with SIGINT ignored and outlive bash: they still get SIGTERM/SIGKILL."""
    pidfile = tmp_path / "bg.pid"
    command = f"sleep 301 & echo $! > {pidfile}; sleep 60"
    sender = _signal_when(pidfile, signal.SIGINT, twice=twice)
    # Twice: long timeouts, so only the second signal can end the wait (with SIGKILL).
    timeouts = (30.0, 30.0) if twice else (0.3, 0.3)
    outcome = run_process(
        Request(("bash", "-c", command), tmp_path, dict(os.environ), timeouts=timeouts)
    )
    sender.join()  # no signal may reach a later test
    assert outcome.interrupted_by == signal.SIGINT
    assert not _alive(int(pidfile.read_text()))


@pytest.mark.parametrize("how", ["fork", "exec"])
def test_output_is_written_through_and_lingering_processes_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setattr(process, "LINGER_S", 0.3)
    # The relay is forked when mlrun has no other thread, else started as a fresh interpreter.
    monkeypatch.setattr(relay.threading, "active_count", lambda: 1 if how == "fork" else 2)
    log = tmp_path / "out.log"
    pidfile = tmp_path / "bg.pid"
    command = f"echo first; (exec sleep 30 >/dev/null 2>&1) & echo $! > {pidfile}; echo >&2 second"
    outcome = run_process(Request(("bash", "-c", command), tmp_path, dict(os.environ), log))
    assert outcome.exit_code == 0
    assert sorted(log.read_text().split()) == ["first", "second"]
    background = int(pidfile.read_text())
    assert outcome.lingering == (background,)
    os.kill(background, signal.SIGKILL)


def test_exit_is_reported_before_lingering(tmp_path: Path) -> None:
    seen: list[int] = []
    outcome = run_process(
        Request(("bash", "-c", "exit 3"), tmp_path, dict(os.environ)), on_exit=seen.append
    )
    assert (outcome.exit_code, seen, outcome.lingering) == (3, [3], ())
