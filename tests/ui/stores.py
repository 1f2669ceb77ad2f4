"""Real SQLite stores for the UI tests, built through the store's own API."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli.tracking.models import (
    Artifact,
    CodeVersion,
    DataPinRecord,
    DataRecord,
    EventBatch,
    Metric,
    Param,
    RunCreate,
)
from mlrun_cli.tracking.store import open_store

if TYPE_CHECKING:
    from mlrun_cli.tracking.store import TrackingStore

LOCK = "# python: 3.11.4 CPython\n# platform: linux-x86_64\nnumpy=={numpy}\nscikit-learn==1.3.0\n{extra}"
PATCH = "diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1,2 +1,2 @@\n-alpha = 0.1\n+alpha = 0.5\n keep = 1\n"


@dataclass
class Built:
    """A store on disk and the ids it holds."""

    uri: str
    experiment_id: str
    run_ids: list[str]

    def open(self) -> TrackingStore:
        return open_store(self.uri, create=False)


def add_artifact(store: TrackingStore, run_id: str, path: str, data: bytes) -> None:
    target = store.location.staging_dir(run_id) / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    artifact = Artifact(path, len(data), hashlib.sha256(data).hexdigest())
    store.log_batch(run_id, EventBatch(artifacts=(artifact,)))


def build(root: Path, runs: int = 3, steps: int = 20, name: str = "wine", finish: bool = True,
          run_names: list[str] | None = None) -> Built:  # fmt: skip
    uri = str(root / "mlruns")
    store = open_store(uri)
    experiment = store.get_or_create_experiment(name)
    ids = []
    for index in range(runs):
        spec = RunCreate(
            experiment_id=experiment.experiment_id,
            name=run_names[index] if run_names else f"run-{index}",
            entry_point="main",
            command=f"python train.py --alpha {index / 10}",
            code=CodeVersion("local-git", "/srv/project", commit=f"{index:040x}", dirty=index == 0),
            params=(
                Param("alpha", str(index / 10), "float"),
                Param("optimizer", "adam" if index % 2 else "sgd"),
            ),
            tags=(("team", "a" if index % 2 else "b"),),
            user="ana",
            host="box",
            env_lock=LOCK.format(
                numpy="1.26.0" if index % 2 else "1.25.2",
                extra="pandas==2.1.0\n" if index == 0 else "",
            ),
            env_lock_hash=f"{index:064x}",
            data=DataRecord(
                f"{index:032x}", (DataPinRecord("data/wine.csv", f"{index % 2:032x}", 1024, 1),)
            ),
        )
        run = store.create_run(spec)
        metrics = tuple(
            Metric(
                key,
                (1.0 / (step + 1 + index)) * (2 if key == "loss" else 1),
                step,
                1_700_000_000_000 + step,
            )
            for key in ("rmse", "loss")
            for step in range(steps)
        )
        store.log_batch(run.run_id, EventBatch(metrics=metrics))
        if index == 0:
            add_artifact(store, run.run_id, "_mlrun/dirty.patch", PATCH.encode())
            add_artifact(
                store, run.run_id, "_mlrun/output.log", b"epoch 1 loss 0.5\nepoch 2 loss 0.25\n"
            )
            add_artifact(
                store, run.run_id, "model/metrics.json", b'{"rmse": 0.5, "note": "<b>bold</b>"}'
            )
            add_artifact(store, run.run_id, "preds.csv", b"y,yhat\n1,1.1\n2,1.9\n")
            add_artifact(store, run.run_id, "plot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)
        if finish:
            store.finish_run(run.run_id, "FINISHED", 0)
        ids.append(run.run_id)
    store.close()
    return Built(uri, experiment.experiment_id, ids)
