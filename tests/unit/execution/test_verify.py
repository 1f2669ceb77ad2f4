"""reproduce --verify details: MLmodel files compared without their run ids and times."""

from __future__ import annotations

import time
from pathlib import Path

from mlrun_cli.execution.reproduce import (
    ReproduceRequest,
    _logged_nothing,
    compare,
    compare_children,
    equivalent,
    same_mlmodel,
)
from mlrun_cli.tracking.models import (
    Artifact,
    CodeVersion,
    EventBatch,
    Metric,
    Run,
    RunCreate,
)
from mlrun_cli.tracking.store import TrackingStore, open_store

MLMODEL = """\
artifact_path: mlflow-artifacts:/{run}/models/m
flavors:
  sklearn: {{pickled_model: model.pkl, sklearn_version: 1.7.2}}
model_id: m-{run}
model_uuid: m-{run}
run_id: {run}
utc_time_created: '2026-12-01 22:05:{run}'
"""


def _run(run_id: str, sha: str) -> Run:
    return Run(run_id, "0", "r", "FINISHED", 1, 2, "u", "h", "main", "c", 0, None, "active",
               CodeVersion("local", "/p", content_hash="h"),
               artifacts=(Artifact("models/m/MLmodel", 10, sha),))  # fmt: skip


def test_mlmodel_ids_and_times_are_ignored(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    first.write_text(MLMODEL.format(run="11"))
    second.write_text(MLMODEL.format(run="22"))
    other.write_text(MLMODEL.format(run="33").replace("1.7.2", "1.8.0"))
    assert same_mlmodel(first, second)
    assert not same_mlmodel(first, other)
    assert not same_mlmodel(first, tmp_path / "missing")


def test_compare_asks_only_for_differing_files() -> None:
    asked: list[str] = []

    def same(path: str) -> str | None:
        asked.append(path)
        return "ids/times aside"

    (check,) = compare(_run("a" * 32, "1" * 64), _run("b" * 32, "2" * 64), 0, 0, same)
    assert check.match
    assert check.reproduced.endswith("(ids/times aside)")
    assert asked == ["models/m/MLmodel"]
    (equal,) = compare(_run("a" * 32, "1" * 64), _run("b" * 32, "1" * 64), 0, 0, same)
    assert equal.match
    assert asked == ["models/m/MLmodel"]


def test_zip_archives_that_differ_only_in_timestamps_are_equivalent(tmp_path: Path) -> None:
    import zipfile

    def write(path: Path, when: tuple[int, int, int, int, int, int], body: bytes) -> Path:
        with zipfile.ZipFile(path, "w") as zipped:
            zipped.writestr(zipfile.ZipInfo("schema.json", when), body)
        return path

    first = write(tmp_path / "a.skops", (2026, 1, 1, 0, 0, 0), b"{}")
    later = write(tmp_path / "b.skops", (2026, 6, 1, 12, 30, 2), b"{}")
    other = write(tmp_path / "c.skops", (2026, 1, 1, 0, 0, 0), b"{1}")
    assert first.read_bytes() != later.read_bytes()
    assert equivalent(first, later) == "zip timestamps aside"
    assert equivalent(first, other) is None
    (tmp_path / "plain").write_text("x")
    (tmp_path / "plain2").write_text("y")
    assert equivalent(tmp_path / "plain", tmp_path / "plain2") is None


def test_ignored_artifacts_are_not_compared() -> None:
    checks = compare(_run("a" * 32, "1" * 64), _run("b" * 32, "2" * 64), 0, 0, None,
                     ("models/*/MLmodel",))  # fmt: skip
    assert checks == ()


def _stored_run(store: TrackingStore, name: str, parent: str | None = None,
                **metrics: float) -> str:  # fmt: skip
    # Children are paired in start order: give each run its own millisecond.
    started = time.time_ns() // 1_000_000
    while time.time_ns() // 1_000_000 == started:
        pass
    run_id = store.create_run(
        RunCreate(experiment_id="0", name=name, entry_point="main", command="c",
                  code=CodeVersion("local", "/p", content_hash="h"), parent_run_id=parent)
    ).run_id  # fmt: skip
    batch = EventBatch(metrics=tuple(Metric(k, v, 0, 1) for k, v in metrics.items()))
    store.log_batch(run_id, batch)
    return run_id


def test_child_runs_are_compared_by_name_then_start_order(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "store"))
    original = _stored_run(store, "root")
    _stored_run(store, "fold-a", original, rmse=1.0)
    _stored_run(store, "random-name-1", original, rmse=2.0)
    _stored_run(store, "lost", original, rmse=3.0)
    new = _stored_run(store, "root")
    _stored_run(store, "random-name-2", new, rmse=2.5)  # unnamed: paired by start order
    _stored_run(store, "fold-a", new, rmse=1.0)
    first, second = store.get_run(original), store.get_run(new)
    assert not _logged_nothing(store, first)  # the metrics are in its children
    checks = compare_children(store, first, second, ReproduceRequest(run_id=original))
    assert [(c.kind, c.key, c.original, c.reproduced, c.match) for c in checks] == [
        ("metric", "fold-a/rmse", "1.0", "1.0", True),
        ("metric", "random-name-1/rmse", "2.0", "2.5", False),
        ("child run", "lost", "present", "-", False),
    ]
    assert _logged_nothing(store, store.get_run(_stored_run(store, "empty")))


class _Counting:
    """A run's files that count the bytes handed out (as a team server would send them)."""

    def __init__(self, inner: object, sent: list[int]) -> None:
        self.inner, self.sent = inner, sent

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes:
        data: bytes = self.inner.read_bytes(path, offset, limit)  # type: ignore[attr-defined]
        self.sent.append(len(data))
        return data


def test_files_that_cannot_be_equivalent_are_not_copied(tmp_path: Path) -> None:
    from mlrun_cli.execution.reproduce import _same_content

    store = open_store(str(tmp_path / "mlruns"))
    spec = RunCreate("0", "r", "main", "c", CodeVersion("local", "/p"))
    first, second = store.create_run(spec), store.create_run(RunCreate("0", "r2", "main", "c",
                                                                        CodeVersion("local", "/p")))  # fmt: skip
    for run, byte in ((first, b"a"), (second, b"b")):
        folder = store.location.staging_dir(run.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "weights.bin").write_bytes(byte * (1 << 20))
    sent: list[int] = []
    real = store.artifacts
    store.artifacts = lambda run_id: _Counting(real(run_id), sent)  # type: ignore[method-assign]
    assert _same_content(store, first, second)("weights.bin") is None
    assert sum(sent) <= 8  # the first bytes of each, not the whole files
    store.close()
