"""``python -m mlrun_cli.backends.worker run ...``: a backend job's command.

The same ``mlrun run`` as ``python -m mlrun_cli``, after steps only the worker needs: with
``--submitted-code`` first, the project is the copy the engine uploaded (the job's working
directory), recorded as the code version the submitter resolved (``submitted.py``); and the
engine's own name of the job (Slurm's job id, known only once it runs) is added to the run's
tags, so ``runs logs`` / ``runs cancel`` find the job from any machine that reaches the store.
"""

from __future__ import annotations

import os
import runpy
import sys

from mlrun_cli.backends.base import BACKEND_TAG, JOB_TAG


def engine_tags(argv: list[str]) -> list[str]:
    """``--tag mlrun.backend.job_id=...`` of a Slurm job (from its environment), unless given."""
    if f"{BACKEND_TAG}=slurm" not in argv or any(item.startswith(JOB_TAG + "=") for item in argv):
        return []
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return ["--tag", f"{JOB_TAG}={array}_{task}"]
    job = os.environ.get("SLURM_JOB_ID")
    return ["--tag", f"{JOB_TAG}={job}"] if job else []


def main() -> None:
    """Take the submitted code version, then run mlrun's CLI with the job's arguments."""
    from pathlib import Path

    from mlrun_cli.backends import submitted
    from mlrun_cli.errors import MlrunError
    from mlrun_cli.source.local import use_submitted

    args = sys.argv[1:]
    try:
        if args[:1] == [submitted.FLAG]:
            args = args[1:]
            use_submitted(submitted.load(Path.cwd()))
    except MlrunError as exc:
        sys.stderr.write(f"error: {exc}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        sys.exit(int(exc.exit_code))
    sys.argv = [sys.argv[0], *args, *engine_tags(args)]
    runpy.run_module("mlrun_cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
