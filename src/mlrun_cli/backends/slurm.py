"""The Slurm backend: ``sbatch`` of a generated script; job arrays for sweeps.

Assumes a shared filesystem between the submitter and the nodes for the caches (envs, git
mirrors, DVC) and the store (or a tracking server every node reaches). State comes from
``squeue`` while the job is queued or running, then ``scontrol show job``.

slurmctld saves a job's whole environment with the job (``StateSaveLocation/hash.N/job.N/
environment``; slurmdbd keeps it too with ``AccountingStoreFlags=job_env``) and its script:
sbatch runs without the tracking token and other secrets of the submitter's environment, and
the script carries a token scoped to the job's run (``backends/tokens.py``).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from typing import TYPE_CHECKING, ClassVar

from mlrun_cli.backends.base import (
    FAILED,
    PENDING,
    RUNNING,
    STOPPED,
    SUCCEEDED,
    ConfiguredBackend,
    Job,
    JobState,
)
from mlrun_cli.backends.tokens import SECRET_ENV
from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise UsageError(f"--backend slurm: {name} not found on PATH (is this a Slurm login node?)")
    return path


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UsageError(f"--backend slurm: {shlex.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def _query(argv: list[str]) -> str:
    """A read-only command's output ('' when it fails: the job may be unknown by now)."""
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


class SlurmBackend(ConfiguredBackend):
    """A Slurm cluster reached through its commands."""

    name = "slurm"
    keys = ("partition", "time", "cpus", "gpus", "memory", "account", "qos", "extra")
    states: ClassVar[dict[str, str]] = {
        "PENDING": PENDING, "CONFIGURING": PENDING, "RUNNING": RUNNING, "COMPLETING": RUNNING,
        "COMPLETED": SUCCEEDED, "CANCELLED": STOPPED, "FAILED": FAILED, "TIMEOUT": FAILED,
        "NODE_FAIL": FAILED, "OUT_OF_MEMORY": FAILED, "PREEMPTED": FAILED, "BOOT_FAIL": FAILED,
        "DEADLINE": FAILED, "SUSPENDED": RUNNING, "REQUEUED": PENDING,
    }  # fmt: skip

    def check(self) -> None:
        """The Slurm commands are here."""
        for tool in ("sbatch", "squeue", "scontrol", "scancel"):
            _tool(tool)

    def directives(self, name: str, output: Path | None) -> list[str]:
        """The ``#SBATCH`` lines: resources from the config."""
        c = self.config
        # No requeue: a rerun of the job would record the same run id a second time; a lost
        # job's run is marked FAILED instead, and rerunning the sweep resubmits it.
        lines = [f"--job-name={name}", "--no-requeue"]
        if output is not None:
            lines.append(f"--output={output}")
        for key, flag in (("partition", "partition"), ("time", "time"), ("cpus", "cpus-per-task"),
                          ("memory", "mem"), ("account", "account"), ("qos", "qos")):  # fmt: skip
            if key in c:
                lines.append(f"--{flag}={c[key]}")
        if "gpus" in c:
            lines.append(f"--gres=gpu:{c['gpus']}")
        lines += [str(x) for x in c.get("extra") or ()]
        return [f"#SBATCH {line}" for line in lines]

    def script(self, jobs: Sequence[Job], throttle: int | None = None) -> str:
        """One job, or an array whose task N runs ``jobs[N]``."""
        first = jobs[0]
        output = first.log_path
        if output is not None and len(jobs) > 1:
            output = output.with_name("slurm-%A_%a.out")
        head = ["#!/bin/bash", *self.directives(f"mlrun-{first.run_id[:8]}", output)]
        if len(jobs) > 1:
            limit = f"%{throttle}" if throttle else ""
            head.append(f"#SBATCH --array=0-{len(jobs) - 1}{limit}")
        body = ["set -e", f"cd {shlex.quote(str(first.working_dir))}"]
        commands = [
            " ".join(f"{k}={shlex.quote(v)}" for k, v in job.env.items())
            + " exec "
            + shlex.join(self.worker_argv(job.argv))
            for job in jobs
        ]
        if len(jobs) == 1:
            body.append(commands[0].lstrip())
        else:
            body.append('case "$SLURM_ARRAY_TASK_ID" in')
            body += [f"  {i}) {cmd.lstrip()} ;;" for i, cmd in enumerate(commands)]
            body.append("esac")
        return "\n".join([*head, *body]) + "\n"

    def submit_many(self, jobs: Sequence[Job], throttle: int | None = None) -> list[str]:
        """sbatch one script; the job ids (``ID`` or ``ID_N`` per array task)."""
        text = self.script(jobs, throttle)
        # sbatch exports this environment to the job, and slurmctld saves it on disk.
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        done = subprocess.run([_tool("sbatch"), "--parsable"], input=text, capture_output=True,
                              text=True, check=False, env=env)  # fmt: skip
        if done.returncode != 0:
            raise UsageError(f"--backend slurm: sbatch: {done.stderr.strip()}")
        job_id = done.stdout.strip().split(";")[0]
        return [job_id] if len(jobs) == 1 else [f"{job_id}_{i}" for i in range(len(jobs))]

    def submit(self, job: Job) -> str:
        """sbatch one run."""
        return self.submit_many([job])[0]

    def status(self, job_id: str) -> JobState:
        """squeue while queued or running; scontrol afterwards (no accounting needed)."""
        out = _query([_tool("squeue"), "-h", "-j", job_id, "-o", "%T|%r"]).strip()
        if out:
            state, _, reason = out.splitlines()[0].partition("|")
            return JobState(self.state(state, RUNNING), None if reason in ("None", "") else reason)
        shown = _query([_tool("scontrol"), "show", "job", "-o", job_id])
        fields = dict(part.split("=", 1) for part in shown.split() if "=" in part)
        known = fields.get("JobState")
        if known is None:
            return JobState(FAILED, "Slurm no longer knows the job")
        parts = [known]
        if fields.get("Reason") not in (None, "None"):
            parts.append(fields["Reason"])
        if fields.get("ExitCode") not in (None, "0:0"):
            parts.append(f"exit {fields['ExitCode']}")
        detail = ", ".join(parts)
        return JobState(self.state(known, FAILED), detail)

    def logs(self, job_id: str) -> str:
        """Slurm's output file of the job, if it is readable here (shared filesystem)."""
        shown = _query([_tool("scontrol"), "show", "job", "-o", job_id])
        for part in shown.split():
            if part.startswith("StdOut="):
                from pathlib import Path

                path = Path(part[len("StdOut=") :])
                return path.read_text(errors="replace") if path.is_file() else ""
        return ""

    def cancel(self, job_id: str) -> None:
        """scancel (Slurm sends SIGTERM first: the run ends KILLED)."""
        _run([_tool("scancel"), job_id])
