"""Runs recorded straight into the default store, and the CLI called in-process."""

from __future__ import annotations

from typer.testing import CliRunner

from mlrun_cli.cli.app import app
from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, Param, RunCreate
from mlrun_cli.tracking.store import open_store

COMMIT = "3f2a9c1b5d7e9f00112233445566778899aabbcc"
LOCK_HASH = "ab" * 32

runner = CliRunner()


def mlrun(*args: str) -> tuple[int, str, str]:
    """The CLI in-process: exit code, stdout, stderr."""
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def record_run(
    experiment: str,
    name: str,
    params: dict[str, str],
    curves: dict[str, list[float]],
    tags: dict[str, str] | None = None,
) -> str:
    """A FINISHED run with the given params and metric curves (one point per step)."""
    store = open_store()
    experiment_id = store.get_or_create_experiment(experiment).experiment_id
    code = CodeVersion("git", "https://example.invalid/repo.git", COMMIT, dirty=False)
    run = store.create_run(
        RunCreate(
            experiment_id, name, "main", "python train.py", code,
            tuple(Param(k, v) for k, v in params.items()),
            env_lock_hash=LOCK_HASH, fingerprint="fp1:" + "cd" * 32,
        )
    )  # fmt: skip
    points = tuple(
        Metric(key, value, step, 1_700_000_000_000 + step * 1500)
        for key, values in curves.items()
        for step, value in enumerate(values)
    )
    store.log_batch(run.run_id, EventBatch(metrics=points, tags=tuple((tags or {}).items())))
    store.finish_run(run.run_id, "FINISHED", 0)
    store.close()
    return run.run_id
