"""The Ray backend: each run is a Ray job (Jobs API), its code snapshot the working_dir.

Ray uploads the working_dir to the node: a job needs no shared filesystem. It is a staging
folder of the project's top folder plus the code version the submitter resolved
(``submitted.py``), which the worker records instead of what its copy (without .git) shows.

The submission id is ``mlrun-<run id>``: submitting the same run again finds the job that is
already there instead of starting a second one. Address: ``address`` in the config, else
``RAY_ADDRESS``, else the local dashboard (http://127.0.0.1:8265). Extra ``mlrun-cli[ray]``.

Ray keeps a job's ``runtime_env`` (its ``env_vars`` included) in the job's info, which its Jobs
API shows to anyone who reaches the dashboard, and writes it to ``runtime_env_agent.log``: the
user's token never goes there; the job carries a token scoped to its run (``tokens.py``).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from typing import TYPE_CHECKING, Any, ClassVar

from mlrun_cli.backends.base import (
    ADDRESS_TAG,
    BACKEND_TAG,
    FAILED,
    JOB_TAG,
    PENDING,
    RUNNING,
    STOPPED,
    SUCCEEDED,
    UNREACHABLE,
    ConfiguredBackend,
    Job,
    JobState,
)
from mlrun_cli.backends.submitted import staged
from mlrun_cli.backends.tokens import SECRET_ENV
from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_ADDRESS = "http://127.0.0.1:8265"
STOP_GRACE_ENV = "RAY_JOB_STOP_WAIT_TIME_S"
AGENT_WAIT_S = 60.0  # how long a submission waits for the head's job agent


def submission_id(run_id: str) -> str:
    """The Ray job of a run (stable: a resubmission is idempotent)."""
    return f"mlrun-{run_id}"


class RayBackend(ConfiguredBackend):
    """A Ray cluster reached through its Jobs API."""

    name = "ray"
    uploads_working_dir = True  # a job runs Ray's copy of its working_dir (submitted.py)
    keys = ("address", "num_cpus", "num_gpus", "memory", "env_vars", "pip")
    states: ClassVar[dict[str, str]] = {
        "PENDING": PENDING, "RUNNING": RUNNING, "SUCCEEDED": SUCCEEDED, "FAILED": FAILED,
        "STOPPED": STOPPED,
    }  # fmt: skip

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        secret = sorted(set(config.get("env_vars") or {}) & set(SECRET_ENV))
        if secret:
            raise UsageError(
                f"--backend-config: env_vars.{secret[0]}: Ray shows a job's env_vars to anyone "
                "who reaches its dashboard and logs them; the job carries a token scoped to "
                "its run instead (see README, Backends)"
            )
        self.address = str(
            config.get("address") or os.environ.get("RAY_ADDRESS") or DEFAULT_ADDRESS
        )
        self._client: Any = None

    def worker_tags(self, run_id: str) -> tuple[tuple[str, str], ...]:
        """The job id is the submission id, known before the job exists."""
        return ((BACKEND_TAG, self.name), (JOB_TAG, submission_id(run_id)),
                (ADDRESS_TAG, self.address))  # fmt: skip

    @property
    def client(self) -> Any:
        """The JobSubmissionClient (Ray is imported only here)."""
        if self._client is None:
            import logging

            try:
                from ray.job_submission import JobSubmissionClient
            except ImportError:
                raise UsageError(
                    "--backend ray: Ray is not installed", hint="pip install 'mlrun-cli[ray]'"
                ) from None
            # Ray's client logs every upload at INFO on the user's terminal.
            for name in ("dashboard.modules.dashboard_sdk", "_private.runtime_env.packaging"):
                logging.getLogger(f"ray.{name}").setLevel(logging.WARNING)
            try:
                self._client = JobSubmissionClient(self.address)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UsageError(f"--backend ray: cannot reach {self.address}: {exc}") from None
        return self._client

    def check(self) -> None:
        """Reach the cluster now (a bad address fails before anything is recorded)."""
        _ = self.client

    def submit(self, job: Job) -> str:
        """Submit the run's mlrun as a job; an existing job of the same run is kept."""
        with contextlib.ExitStack() as stack:
            folder = job.working_dir
            if job.code is not None:  # uploaded with the code version the submitter resolved
                folder = stack.enter_context(staged(job.code, self._not_code(job)))
            return self._submit(job, folder)

    @staticmethod
    def _not_code(job: Job) -> tuple[Path, ...]:
        return tuple(job.working_dir / item for item in job.excludes)

    def _submit(self, job: Job, folder: Path) -> str:
        sid = submission_id(job.run_id)
        runtime_env: dict[str, Any] = {
            "working_dir": str(folder),
            "excludes": list(job.excludes),
            # Ray's supervisor reads its stop grace from the job's env: longer than mlrun's
            # own escalation (SIGINT 10 s, SIGTERM 5 s), so a stopped run records KILLED.
            "env_vars": {STOP_GRACE_ENV: "30", **(self.config.get("env_vars") or {}), **job.env},
        }
        resources = {
            key: self.config[key]
            for key in ("num_cpus", "num_gpus", "memory")
            if key in self.config
        }
        argv = self.worker_argv(job.argv)
        deadline = time.monotonic() + AGENT_WAIT_S
        while True:
            try:
                self.client.submit_job(
                    entrypoint=shlex.join(argv),
                    submission_id=sid,
                    runtime_env=runtime_env,
                    **{f"entrypoint_{k}": v for k, v in resources.items()},
                )
            except RuntimeError as exc:
                if "already exists" in str(exc):
                    return sid
                # A head that just started (or is busy) has no job agent yet: Ray asks to retry.
                if "try again later" in str(exc) and time.monotonic() < deadline:
                    time.sleep(1.0)
                    continue
                raise UsageError(f"--backend ray: submitting to {self.address}: {exc}") from None
            return sid

    def status(self, job_id: str) -> JobState:
        """The job's status and Ray's message about it (UNREACHABLE while the head is down)."""
        try:
            info = self.client.get_job_info(job_id)
        except (OSError, RuntimeError) as exc:  # requests' errors are OSErrors
            return JobState(UNREACHABLE, f"cannot reach {self.address}: {type(exc).__name__}")
        state = self.state(str(getattr(info.status, "value", info.status)), FAILED)
        return JobState(state, info.message or None)

    def logs(self, job_id: str) -> str:
        """The job's output so far ("" while the head cannot be reached)."""
        try:
            return str(self.client.get_job_logs(job_id))
        except (OSError, RuntimeError):
            return ""

    def cancel(self, job_id: str) -> None:
        """Stop the job (Ray sends SIGTERM: the run ends KILLED)."""
        try:
            self.client.stop_job(job_id)
        except (OSError, RuntimeError) as exc:
            raise UsageError(
                f"--backend ray: cannot reach {self.address} to stop job {job_id} "
                f"({type(exc).__name__})"
            ) from None
