"""The worker's own tags: Slurm's job id, known only once the job runs."""

from __future__ import annotations

import pytest

from mlrun_cli.backends.worker import engine_tags


@pytest.fixture
def slurm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_JOB_ID", "41")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "40")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")


@pytest.mark.usefixtures("slurm_env")
def test_an_array_task_is_named_as_the_submitter_names_it() -> None:
    assert engine_tags(["--tag", "mlrun.backend=slurm"]) == ["--tag", "mlrun.backend.job_id=40_2"]


@pytest.mark.usefixtures("slurm_env")
def test_a_single_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLURM_ARRAY_JOB_ID")
    assert engine_tags(["--tag", "mlrun.backend=slurm"]) == ["--tag", "mlrun.backend.job_id=41"]


@pytest.mark.usefixtures("slurm_env")
def test_other_engines_inside_an_allocation_keep_their_own_id() -> None:
    ray = ["--tag", "mlrun.backend=ray", "--tag", "mlrun.backend.job_id=mlrun-x"]
    assert engine_tags(ray) == []
    assert engine_tags(["--tag", "mlrun.sweep=k"]) == []
