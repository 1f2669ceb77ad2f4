"""Following a run's engine job until its run has ended, and reconciling the two.

The store is the source of truth: the worker's mlrun records the run and ends it. The engine
says whether the job still lives: a job that ended while its run is still RUNNING (cancelled
outside mlrun, node died) or never started it leaves the run FAILED with the engine's reason;
a job the engine stopped itself adds its word to a KILLED run; a FINISHED run whose token job
then failed was ended by someone else with that token (``_not_forged``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrun_cli.backends.base import (
    ENDED_TAG,
    FAILED,
    PENDING,
    UNREACHABLE,
    JobState,
    cancel_asked,
)
from mlrun_cli.tracking import models

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from mlrun_cli.backends.base import Backend
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import TrackingStore

POLL_S = 0.5
UNREACHABLE_S = 60.0  # how long an engine may not answer before its job counts as lost
FORGED_REASON = "its job could not record it: the run was ended by someone else using its token"
GRACE_S = 10.0  # after the engine says the job ended, how long the run may take to be recorded


@dataclass(frozen=True)
class Submitted:
    """A run handed to an engine."""

    run_id: str
    job_id: str
    backend: Backend


def _run_or_none(store: TrackingStore, run_id: str) -> Run | None:
    from mlrun_cli.errors import NotFoundError

    try:
        return store.get_run(run_id)
    except NotFoundError:
        return None


def wait_for(
    store: TrackingStore,
    submitted: Submitted,
    stop: threading.Event | None = None,
    on_output: Callable[[str], None] | None = None,
) -> tuple[Run | None, JobState]:
    """Follow the job until its run has ended; reconcile a run the engine lost."""
    backend, job_id = submitted.backend, submitted.job_id
    shown = 0
    ended_at: float | None = None
    lost_at: float | None = None
    cancelled = False
    while True:
        run = _run_or_none(store, submitted.run_id)
        state = backend.status(job_id)
        if state.state == UNREACHABLE:  # a head that stays down has lost the job
            lost_at = lost_at or time.monotonic()
            if time.monotonic() - lost_at > UNREACHABLE_S:
                state = JobState(FAILED, state.reason)
        else:
            lost_at = None
        if on_output is not None:
            text = backend.logs(job_id) if lost_at is None else ""
            if len(text) > shown:
                on_output(text[shown:])
                shown = len(text)
        if run is not None and run.status != models.RUNNING:
            return _ended(store, submitted, run, state, cancelled)
        if stop is not None and stop.is_set() and not cancelled:
            backend.cancel(job_id)
            cancelled = True
        if state.terminal:
            ended_at = ended_at or time.monotonic()
            if time.monotonic() - ended_at > GRACE_S:
                reason = _engine_reason(backend, job_id, state)
                if run is not None:
                    asked = cancel_asked(store, run)
                    status = models.KILLED if cancelled or asked else models.FAILED
                    store.finish_run(run.run_id, status, None, reason)
                    return store.get_run(run.run_id), state
                return None, JobState(state.state, reason)
        time.sleep(POLL_S)


def _ended(
    store: TrackingStore, submitted: Submitted, run: Run, state: JobState, cancelled: bool
) -> tuple[Run | None, JobState]:
    """A run that has ended, with the engine's word on it."""
    if run.status == models.KILLED and not (cancelled or cancel_asked(store, run)):
        return run, _engine_word(store, submitted, state)
    if run.status == models.FINISHED and getattr(submitted.backend, "needs_token", False):
        return _not_forged(store, submitted, run, state)
    return run, state


def _not_forged(
    store: TrackingStore, submitted: Submitted, run: Run, state: JobState
) -> tuple[Run | None, JobState]:
    """A run ended FINISHED: its job's too, or someone else ended it with the job's token.

    Its job then fails ("run has ended"): the run gets ``mlrun.backend.ended`` (set with the
    user's token, after its end: the run token writes it no more), so no ``--reuse`` picks it
    (``server/api_v1.py find_finished``), and no run is returned. A job still PENDING has not
    run its worker, so it is waited for as long as it takes; a running one for ``GRACE_S``.
    """
    deadline = time.monotonic() + GRACE_S
    while not state.terminal and (state.state == PENDING or time.monotonic() < deadline):
        time.sleep(POLL_S)
        state = submitted.backend.status(submitted.job_id)
    if state.state != FAILED:
        return run, state
    reason = FORGED_REASON + " (" + _engine_reason(submitted.backend, submitted.job_id, state) + ")"
    store.log_batch(run.run_id, models.EventBatch(tags=((ENDED_TAG, reason),)))
    return None, JobState(FAILED, reason)


def _engine_reason(backend: Backend, job_id: str, state: JobState) -> str:
    detail = f": {state.reason}" if state.reason else ""
    return f"{backend.name}: job {job_id} {state.state.lower()}{detail}"


def _engine_word(store: TrackingStore, submitted: Submitted, state: JobState) -> JobState:
    """A run that its worker ended KILLED though nobody asked mlrun to: the engine stopped it
    (``scancel``, ``ray job stop``, a time limit). Its reason goes on the run as the tag
    ``mlrun.backend.ended`` (the run's own end, recorded by the worker, stays as it is)."""
    deadline = time.monotonic() + GRACE_S
    while not state.terminal and time.monotonic() < deadline:
        time.sleep(POLL_S)
        state = submitted.backend.status(submitted.job_id)
    if state.terminal:
        reason = _engine_reason(submitted.backend, submitted.job_id, state)
        store.log_batch(submitted.run_id, models.EventBatch(tags=((ENDED_TAG, reason),)))
    return state
