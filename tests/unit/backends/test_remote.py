"""Following a job (an engine that stops answering, a run someone else ended) and what a
job is handed (its pin, its path parameters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun_cli.backends import follow, remote
from mlrun_cli.backends.base import RUNNING, UNREACHABLE, JobState
from mlrun_cli.tracking.sqlite import SqliteStore
from mlrun_cli.tracking.store import open_store
from tests.unit.tracking.test_sqlite import new_run


class SilentEngine:
    """An engine that answered once, then never again (a narrow stand-in for a dead head)."""

    name = "ray"

    def __init__(self, answers: list[JobState]) -> None:
        self.answers = answers

    def status(self, job_id: str) -> JobState:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def logs(self, job_id: str) -> str:
        return ""

    def cancel(self, job_id: str) -> None:
        raise AssertionError("nobody asked to cancel")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SqliteStore:
    for name, seconds in (("UNREACHABLE_S", 0.2), ("GRACE_S", 0.1), ("POLL_S", 0.01)):
        monkeypatch.setattr(follow, name, seconds)
    opened = open_store(str(tmp_path / "store"))
    assert isinstance(opened, SqliteStore)
    return opened


def test_an_engine_that_stays_unreachable_has_lost_the_run(store: SqliteStore) -> None:
    run_id = new_run(store)
    engine = SilentEngine([JobState(RUNNING), JobState(UNREACHABLE, "cannot reach head")])
    submitted = remote.Submitted(run_id, "mlrun-x", engine)  # type: ignore[arg-type]
    run, state = remote.wait_for(store, submitted)
    assert run is not None
    assert run.status == "FAILED"
    assert run.status_reason == "ray: job mlrun-x failed: cannot reach head"
    assert state.terminal


def test_an_engine_back_in_time_keeps_the_run(store: SqliteStore) -> None:
    run_id = new_run(store)
    answers = [JobState(UNREACHABLE, "down"), JobState(RUNNING)]
    engine = SilentEngine(answers)

    def finish_when_back(job_id: str) -> JobState:
        state = SilentEngine.status(engine, job_id)
        if state.state == RUNNING:
            store.finish_run(run_id, "FINISHED", 0)
        return state

    engine.status = finish_when_back  # type: ignore[method-assign]
    submitted = remote.Submitted(run_id, "mlrun-x", engine)  # type: ignore[arg-type]
    run, _ = remote.wait_for(store, submitted)
    assert run is not None
    assert run.status == "FINISHED"


def test_path_params_reach_the_worker_absolute(tmp_path: Path) -> None:
    """A worker runs in another folder: a relative ``-P data=train.csv`` given in the user's
    folder is handed on as the path it named there; other values as given."""
    from mlrun_cli.backends.remote import absolute_paths
    from mlrun_cli.spec.mlproject import EntryPoint, ParameterSpec
    from mlrun_cli.spec.params import bind_params, parse_cli_params

    entry = EntryPoint("main", "python t.py {data} {alpha}",
                       (ParameterSpec("data", "path"), ParameterSpec("alpha", "float")))  # fmt: skip
    items = ("data=train.csv", "alpha=0.5")
    user_cwd = tmp_path / "proj" / "data"
    bound = bind_params(entry, parse_cli_params(items), user_cwd=user_cwd,
                        project_dir=tmp_path / "proj", strict=False, check_paths=False)  # fmt: skip
    assert absolute_paths(items, entry, bound.as_dict()) == (
        f"data={user_cwd / 'train.csv'}", "alpha=0.5",
    )  # fmt: skip


def test_cancel_of_an_ended_engine_run_is_refused(
    store: SqliteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``runs cancel`` of a Slurm run that has FINISHED sends nothing and says so (exit 2)."""
    from mlrun_cli.backends.base import write_record
    from tests.conftest import run_mlrun

    run_id = new_run(store)
    write_record(store.location.staging_dir(run_id), "slurm", "7", {})
    store.finish_run(run_id, "FINISHED", 0)
    done = run_mlrun("runs", "cancel", run_id, "--tracking-uri", str(tmp_path / "store"))
    assert done.returncode == 2, done.stderr
    assert f"run {run_id[:8]} is FINISHED, not RUNNING" in done.stderr


def test_a_queued_job_without_a_run_yet_counts_as_running_for_its_logs(
    store: SqliteStore,
) -> None:
    from mlrun_cli.cli.remote import _status
    from mlrun_cli.errors import NotFoundError

    assert _status(store, "0" * 32, queued=True) == RUNNING
    with pytest.raises(NotFoundError):
        _status(store, "0" * 32, queued=False)


def test_a_job_pins_its_entry_point_parent_commit_and_values() -> None:
    from pathlib import Path

    from mlrun_cli.backends.remote import job_pin
    from mlrun_cli.execution.runner import RunRequest
    from mlrun_cli.source.local import Checkout
    from mlrun_cli.tracking.models import CodeVersion

    request = RunRequest(uri=".", entry_point="train", params=("lr=0.1", "eq=a=b"))
    git = CodeVersion("git", "https://h/r.git", commit="c" * 40)
    checkout = Checkout(path=Path("/p"), code=git)
    assert job_pin(request, checkout, (("mlrun.parent_run_id", "p" * 32),)) == {
        "entry_point": "train", "parent_run_id": "p" * 32, "commit": "c" * 40,
        "params": {"lr": "0.1", "eq": "a=b"},
    }  # fmt: skip
    local = Checkout(path=Path("/p"), code=CodeVersion("local", "/p"))
    assert job_pin(request, local, ())["commit"] is None


class TokenEngine(SilentEngine):
    """An engine whose jobs carry a run token (Ray, Slurm)."""

    needs_token = True


def test_a_run_someone_else_finished_with_its_token_is_not_the_jobs(store: SqliteStore) -> None:
    from mlrun_cli.backends.base import ENDED_TAG, FAILED, PENDING, SUCCEEDED

    forged = new_run(store)
    store.finish_run(forged, "FINISHED", 0)  # while its job waits in the queue
    engine = TokenEngine([JobState(PENDING)] * 30 + [JobState(FAILED, "exit 2")])
    run, state = remote.wait_for(store, remote.Submitted(forged, "j", engine))  # type: ignore[arg-type]
    assert run is None
    assert state.state == FAILED
    assert state.reason is not None
    assert state.reason.startswith(follow.FORGED_REASON)
    assert ENDED_TAG in store.get_run(forged).tags
    own = new_run(store)
    store.finish_run(own, "FINISHED", 0)
    engine = TokenEngine([JobState(RUNNING), JobState(SUCCEEDED)])
    run, state = remote.wait_for(store, remote.Submitted(own, "k", engine))  # type: ignore[arg-type]
    assert run is not None
    assert run.status == "FINISHED"
    assert ENDED_TAG not in store.get_run(own).tags


def test_path_params_inside_the_uploaded_folder_go_relative_to_it(tmp_path: Path) -> None:
    """Ray's worker runs in its copy of the uploaded folder: a path inside it goes relative
    (found in the copy, no shared filesystem); one outside keeps the submitter's path."""
    from mlrun_cli.backends.remote import absolute_paths
    from mlrun_cli.spec.mlproject import EntryPoint, ParameterSpec

    entry = EntryPoint("main", "python t.py {a} {b} {c}", (ParameterSpec("a", "path"),
                       ParameterSpec("b", "path"), ParameterSpec("c", "float")))  # fmt: skip
    top = tmp_path / "repo"
    bound = {"a": str(top / "proj" / "notes.txt"), "b": "/elsewhere/d.csv", "c": "1"}
    items = ("a=notes.txt", "b=/elsewhere/d.csv", "c=1")
    assert absolute_paths(items, entry, bound, top) == (
        "a=proj/notes.txt", "b=/elsewhere/d.csv", "c=1",
    )  # fmt: skip
    assert absolute_paths(items, entry, bound)[0] == f"a={top / 'proj' / 'notes.txt'}"
