"""The local backend: the run's mlrun process on this machine, detached (``--no-wait``)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import TYPE_CHECKING, Any

from mlrun_cli.backends.base import FAILED, RUNNING, SUCCEEDED, Job, JobState, check_keys

if TYPE_CHECKING:
    from pathlib import Path


class LocalBackend:
    """Jobs are processes of this machine; the job id is the pid."""

    name = "local"

    def __init__(self, config: dict[str, Any]) -> None:
        check_keys(self.name, config, ())
        self.config = config
        self._logs: dict[str, Path] = {}
        self._procs: dict[str, subprocess.Popen[bytes]] = {}

    def submit(self, job: Job) -> str:
        """Start the run's mlrun in its own session (it outlives the submitter)."""
        out = job.log_path.open("ab") if job.log_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen(
                job.argv, cwd=job.working_dir, env={**os.environ, **job.env},
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        finally:
            if not isinstance(out, int):
                out.close()
        job_id = str(proc.pid)
        self._procs[job_id] = proc
        if job.log_path:
            self._logs[job_id] = job.log_path
        return job_id

    def status(self, job_id: str) -> JobState:
        """RUNNING while the process lives."""
        proc = self._procs.get(job_id)
        if proc is not None:
            code = proc.poll()
            if code is None:
                return JobState(RUNNING)
            return JobState(SUCCEEDED) if code == 0 else JobState(FAILED, f"exit code {code}")
        try:
            os.kill(int(job_id), 0)
        except ProcessLookupError:
            return JobState(SUCCEEDED, "process ended")
        except PermissionError:
            pass
        return JobState(RUNNING)

    def logs(self, job_id: str) -> str:
        """The process's output, when it was sent to a file."""
        path = self._logs.get(job_id)
        return path.read_text(errors="replace") if path and path.is_file() else ""

    def cancel(self, job_id: str) -> None:
        """SIGTERM: the run's mlrun ends it KILLED."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(job_id), signal.SIGTERM)
