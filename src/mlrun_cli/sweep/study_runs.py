"""An Optuna study as the tracking store holds it: the sweep's trial runs.

Every trial is an ordinary run tagged with its sweep's key, so the study can be rebuilt from
the store alone: a sweep resumed on another machine (without the journal file of the first)
continues the same study wherever the store is reachable. Each trial told remembers its run
(user attribute ``mlrun.run_id``), so a run already in the journal is not added twice.

``--n-trials`` counts trials that ran to an end of their own: COMPLETE, or FAIL (the entry
point failed, or logged no metric). A trial stopped by an interrupt (its run KILLED, never
started, or still RUNNING when its sweep died) is told FAIL with ``mlrun.interrupted`` and
counts for nothing: a resumed sweep runs it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrun_cli.tracking import models

if TYPE_CHECKING:
    from mlrun_cli.sweep.trials import TrialResult
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import TrackingStore

RUN_ATTR = "mlrun.run_id"
INTERRUPTED_ATTR = "mlrun.interrupted"


def interrupted(result: TrialResult) -> bool:
    """The trial was stopped, not ended by its entry point."""
    if result.run is None:
        return result.error is None  # never started: the sweep stopped first
    return result.run.status in (models.KILLED, models.RUNNING)


def tell(optuna: Any, study: Any, trial: Any, result: TrialResult, metric: str | None) -> None:
    """Tell the study how a trial asked from it went, remembering its run."""
    if result.run is not None:
        trial.set_user_attr(RUN_ATTR, result.run.run_id)
    value = result.metric(metric)
    if value is not None:
        study.tell(trial, value)
        return
    if interrupted(result):
        trial.set_user_attr(INTERRUPTED_ATTR, value=True)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)


def fail_stale(optuna: Any, study: Any) -> None:
    """Trials still RUNNING in a loaded study: their sweep was stopped (interrupted)."""
    state = optuna.trial.TrialState
    for frozen in study.get_trials(deepcopy=False, states=(state.RUNNING,)):
        optuna.trial.Trial(study, frozen._trial_id).set_user_attr(INTERRUPTED_ATTR, value=True)
        study.tell(frozen.number, state=state.FAIL)


def counted(optuna: Any, study: Any) -> int:
    """Trials that count toward ``--n-trials`` (ended on their own)."""
    state = optuna.trial.TrialState
    ended = study.get_trials(deepcopy=False, states=(state.COMPLETE, state.FAIL))
    return sum(1 for t in ended if not t.user_attrs.get(INTERRUPTED_ATTR))


def add_from_store(
    optuna: Any, study: Any, store: TrackingStore, experiment_id: str, key: str,
    dists: dict[str, Any], metric: str | None,
) -> int:  # fmt: skip
    """Add the sweep's trial runs the study does not hold yet; how many were added."""
    from mlrun_cli.sweep.parent import PARENT_TAG, SWEEP_TAG
    from mlrun_cli.tracking.queries import search_runs

    known = {t.user_attrs.get(RUN_ATTR) for t in study.get_trials(deepcopy=False)}
    where = f"tags.`{SWEEP_TAG}` = '{key}'"
    found = search_runs(store, [experiment_id], where, ["start_time ASC"], 10_000).runs
    added = 0
    for run in found:
        if PARENT_TAG not in run.tags or run.run_id in known:
            continue
        frozen = _frozen(optuna, run, dists, metric)
        if frozen is not None:
            study.add_trial(frozen)
            added += 1
    return added


def _frozen(optuna: Any, run: Run, dists: dict[str, Any], metric: str | None) -> Any:
    """The run as a finished Optuna trial (None: its parameters are not this study's)."""
    given = {p.key: p.value for p in run.params}
    params: dict[str, Any] = {}
    for name, dist in dists.items():
        if name not in given:
            return None
        try:
            value: Any = given[name]
            if isinstance(dist, optuna.distributions.IntDistribution):
                value = int(value)
            elif isinstance(dist, optuna.distributions.FloatDistribution):
                value = float(value)
        except ValueError:
            return None
        params[name] = value
    value_of = run.metrics.get(metric) if metric else None
    attrs: dict[str, Any] = {RUN_ATTR: run.run_id}
    outcome: dict[str, Any] = {"state": optuna.trial.TrialState.FAIL}
    if run.status == models.FINISHED and value_of is not None:
        outcome = {"value": value_of.value}
    elif run.status in (models.KILLED, models.RUNNING):
        attrs[INTERRUPTED_ATTR] = True
    try:  # Optuna checks every value against its distribution
        return optuna.trial.create_trial(params=params, distributions=dists, user_attrs=attrs,
                                         **outcome)  # fmt: skip
    except ValueError:
        return None
