"""The experiments list and the runs table (filter, sort, columns, paging, selection)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.ui.columns import (
    Column,
    available_columns,
    cell,
    default_columns,
    format_time,
    parse_column,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from mlrun_cli.tracking.models import Experiment
    from mlrun_cli.ui.app import Ui

PAGE_SIZES = (25, 50, 100, 250, 500)
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True)
class ExperimentRow:
    """One line of the experiments list."""

    experiment: Experiment
    runs: int
    last_activity: str


def experiments_page(ui: Ui, request: Request) -> Response:
    """Experiments with run counts and last activity, filtered by name or tag text."""
    text = request.query_params.get("q", "").strip()
    needle = text.lower()
    from mlrun_cli.tracking.run_stats import experiment_run_stats

    with ui.store() as store:
        shown = []
        for experiment in store.search_experiments("active"):
            tag_text = " ".join(f"{k}={v}" for k, v in experiment.tags.items()).lower()
            if not needle or needle in experiment.name.lower() or needle in tag_text:
                shown.append(experiment)
        stats = experiment_run_stats(store, [e.experiment_id for e in shown])
    latest = {
        e.experiment_id: max(stats[e.experiment_id].last_activity or 0, e.last_update_time)
        for e in shown
    }
    shown.sort(key=lambda e: latest[e.experiment_id], reverse=True)  # most recent first
    rows = [
        ExperimentRow(e, stats[e.experiment_id].runs, format_time(latest[e.experiment_id]))
        for e in shown
    ]
    template = "experiments_rows.html" if request.headers.get("hx-request") else "experiments.html"
    return ui.render(request, template, title="Experiments", rows=rows, q=text)


@dataclass(frozen=True)
class TableState:
    """The runs table's query string, parsed."""

    experiment_ids: tuple[str, ...]
    filter_text: str
    order: Column | None
    descending: bool
    columns: tuple[Column, ...]
    explicit_columns: bool
    offset: int
    size: int

    def query(self, **changes: object) -> str:
        """The query string of this state with some fields changed."""
        values: dict[str, object] = {
            "experiment": list(self.experiment_ids),
            "filter": self.filter_text,
            "order": self.order.id if self.order else "",
            "desc": "1" if self.descending else "",
            "col": [c.id for c in self.columns] if self.explicit_columns else [],
            "offset": self.offset or "",
            "size": "" if self.size == DEFAULT_PAGE_SIZE else self.size,
        }
        values.update(changes)
        pairs: list[tuple[str, object]] = []
        for key, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                if item not in ("", None):
                    pairs.append((key, item))
        return urlencode(pairs)


def _int(text: str | None, default: int, name: str) -> int:
    if not text:
        return default
    try:
        return max(0, int(text))
    except ValueError:
        raise UsageError(f"{name}: expected a number; got {text!r}") from None


def parse_state(request: Request, experiments: list[Experiment]) -> TableState:
    params = request.query_params
    ids = tuple(dict.fromkeys(params.getlist("experiment")))
    if not ids:
        ids = tuple(e.experiment_id for e in experiments)
    known = {e.experiment_id for e in experiments}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise NotFoundError(f"experiment: no active experiment with id {unknown[0]!r}")
    columns = tuple(c for c in (parse_column(t) for t in params.getlist("col")) if c)
    order = parse_column(params.get("order", ""))
    size = _int(params.get("size"), DEFAULT_PAGE_SIZE, "size")
    return TableState(
        experiment_ids=ids,
        filter_text=params.get("filter", ""),
        order=order if order and order.order_key else None,
        descending=params.get("desc", "") == "1",
        columns=columns,
        explicit_columns=bool(columns),
        offset=_int(params.get("offset"), 0, "offset"),
        size=min(max(size, 1), PAGE_SIZES[-1]),
    )


def runs_page(ui: Ui, request: Request) -> Response:
    """The runs table: a full page, or (for htmx) only the table fragment."""
    from mlrun_cli.tracking.queries import search_runs
    from mlrun_cli.tracking.run_search import encode_page_token
    from mlrun_cli.tracking.search import FilterError

    error: FilterError | UsageError | None = None
    with ui.store() as store:
        experiments = store.search_experiments("active")
        state = parse_state(request, experiments)
        order_by = None
        if state.order is not None:
            order_by = [f"{state.order.order_key} {'DESC' if state.descending else 'ASC'}"]
        try:
            page = search_runs(store, list(state.experiment_ids), state.filter_text, order_by,
                               state.size, encode_page_token(state.offset))  # fmt: skip
            runs, more = page.runs, page.next_page_token is not None
        except UsageError as exc:
            error, runs, more = exc, [], False
    columns = list(state.columns) or default_columns(runs)
    if not state.explicit_columns:
        state = dataclasses.replace(state, columns=tuple(columns))
    names = {e.experiment_id: e.name for e in experiments}
    context: dict[str, Any] = {
        "title": "Runs",
        "state": state,
        "runs": runs,
        "more": more,
        "error": error,
        "columns": columns,
        "available": available_columns(runs, columns),
        "cell": cell,
        "experiments": experiments,
        "experiment_names": [names[i] for i in state.experiment_ids],
        "page_sizes": PAGE_SIZES,
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "runs":
        return ui.render(request, "runs_table.html", **context)
    return ui.render(request, "runs.html", **context)
