"""``--optuna``: ask-and-tell from the one controller; each trial told as soon as its run ends.

The study is an Optuna journal file stored as the parent run's artifact ``_mlrun/optuna.journal``;
a rerun of the same sweep continues the study, rebuilt from the sweep's trial runs in the
tracking store wherever the journal is missing (``study_runs.py``), up to ``--n-trials`` trials
that ended on their own (interrupted ones are run again). Imported only on this path.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.sweep import study_runs

if TYPE_CHECKING:
    from mlrun_cli.sweep.controller import SweepRequest
    from mlrun_cli.sweep.expand import Dimension
    from mlrun_cli.sweep.trials import TrialResult
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import TrackingStore

STUDY_ARTIFACT = "_mlrun/optuna.journal"
SAMPLERS = ("tpe", "random", "cmaes")


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise UsageError(
            "--optuna: Optuna is not installed", hint="pip install 'mlrun-cli[optuna]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _storage(optuna: Any, path: str) -> Any:
    journal = optuna.storages.journal
    backend = getattr(journal, "JournalFileBackend", None) or journal.JournalFileStorage
    return optuna.storages.JournalStorage(backend(path))


def _sampler(optuna: Any, name: str, seed: int) -> Any:
    if name not in SAMPLERS:
        raise UsageError(f"--sampler {name!r}: expected one of {', '.join(SAMPLERS)}")
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def distributions(optuna: Any, space: tuple[Dimension, ...]) -> dict[str, Any]:
    """The swept dimensions as Optuna distributions (single values stay fixed)."""
    out: dict[str, Any] = {}
    dists = optuna.distributions
    for d in space:
        if d.kind == "int":
            out[d.name] = dists.IntDistribution(int(d.low), int(d.high))
        elif d.sampled:
            out[d.name] = dists.FloatDistribution(d.low, d.high, log=d.kind == "loguniform")
        elif len(d.values) > 1:
            out[d.name] = dists.CategoricalDistribution(list(d.values))
    return out


class OptunaSource:
    """Points asked from an Optuna study; results told as they come."""

    def __init__(
        self,
        store: TrackingStore,
        experiment_id: str,
        parent: Run,
        key: str,
        space: tuple[Dimension, ...],
        request: SweepRequest,
    ) -> None:
        from mlrun_cli.sweep.parent import previous_parent

        optuna = self._optuna = _import_optuna()
        self._store, self._parent = store, parent
        # Optuna works on a file: the parent's, staged here (uploaded when it finishes).
        self._path = store.location.staging_dir(parent.run_id) / STUDY_ARTIFACT
        self._path.parent.mkdir(parents=True, exist_ok=True)
        earlier = previous_parent(store, experiment_id, key, parent.run_id)
        if earlier is not None:
            with contextlib.suppress(NotFoundError):  # read wherever the store keeps it
                self._path.write_bytes(store.artifacts(earlier.run_id).read_bytes(STUDY_ARTIFACT))
        direction = "minimize" if request.goal == "min" else "maximize"
        storage = _storage(optuna, str(self._path))
        self._study = optuna.create_study(
            study_name=f"mlrun-{key}",
            storage=storage,
            sampler=_sampler(optuna, request.sampler, request.seed),
            direction=direction,
            load_if_exists=True,
        )
        self._dists = distributions(optuna, space)
        # The store holds the study (its trial runs): a journal copied from an earlier parent
        # is only a head start, and one made on another machine is not needed.
        study_runs.fail_stale(optuna, self._study)
        study_runs.add_from_store(optuna, self._study, store, experiment_id, key, self._dists,
                                  request.metric)  # fmt: skip
        # A resumed study must not draw its first points again: the seed moves on with it.
        done = len(self._study.get_trials(deepcopy=False))
        if done:
            self._study.sampler = _sampler(optuna, request.sampler, request.seed + done)
        self._remaining = max(0, (request.n_trials or 0) - study_runs.counted(optuna, self._study))
        self.total: int | None = self._remaining
        self._fixed = {d.name: d.values[0] for d in space if not d.sampled and len(d.values) == 1}
        self._metric = request.metric
        self._asked: dict[int, Any] = {}
        self._count = 0

    def next_point(self) -> dict[str, str] | None:
        """Ask the study for the next trial (None when ``--n-trials`` are done)."""
        if self._count >= self._remaining:
            return None
        trial = self._study.ask(self._dists)
        self._asked[self._count] = trial
        self._count += 1
        values = {name: _text(value) for name, value in trial.params.items()}
        return {**self._fixed, **values}

    def tell(self, index: int, result: TrialResult) -> None:
        """Tell the study how the trial went (FAIL without the metric)."""
        study_runs.tell(self._optuna, self._study, self._asked.pop(index), result, self._metric)

    def close(self) -> None:
        """Record the study file with the parent run."""
        from mlrun_cli.tracking.ingest import record_artifact

        if self._path.is_file():
            record_artifact(self._store, self._parent.run_id, STUDY_ARTIFACT)


def _text(value: object) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)
