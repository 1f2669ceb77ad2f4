"""The bodies of ``runs search`` and ``experiments search``, without typer: the typer commands
and the fast path (``_fast.py``) both call these, so their output and errors are the same.

Its frozen values are ``Record``s (tracking/record.py), not dataclasses: startup time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.cli._args import open_cli_store, view_name
from mlrun_cli.cli._columns import all_columns, cell, display, varying_columns
from mlrun_cli.cli._output import STATUS_STYLES, State, format_time, info, message, print_json
from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run

FORMATS = ("table", "json", "csv")


def check_format(output: str) -> str:
    """``--format``: one of table, json, csv."""
    from mlrun_cli.errors import UsageError

    if output not in FORMATS:
        raise UsageError(f"--format: expected one of table, json, csv; got {output!r}")
    return output


class Query(Record):
    """What ``runs search`` / ``runs list`` asked for."""

    names: list[str]
    ids: list[str]
    filter_text: str
    order_by: list[str]
    max_results: int
    page_token: str | None
    view: str


def search_runs_command(
    query: Query, columns: str | None, output: str, *, wide: bool, tracking_uri: str | None
) -> None:
    """``runs search``: ``columns`` as typed (``a,b,c``), ``output`` table, json or csv."""
    output = check_format(output)
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns is not None else None
    if chosen == []:
        from mlrun_cli.errors import UsageError

        raise UsageError(f"--columns {columns!r}: expected column names separated by commas "
                         "(run_id,params.alpha,metrics.rmse)")  # fmt: skip
    print_runs(query, chosen, output, wide=wide, tracking_uri=tracking_uri)


def print_runs(
    query: Query, chosen: list[str] | None, output: str, *, wide: bool, tracking_uri: str | None
) -> None:
    """The runs ``query`` finds, as a table, JSON or CSV."""
    from mlrun_cli.tracking.queries import experiment_ids_for, search_runs

    query = Query(query.names, query.ids, query.filter_text, query.order_by, query.max_results,
                  query.page_token, view_name(query.view))  # fmt: skip
    store = open_cli_store(tracking_uri)
    ids = experiment_ids_for(store, query.names, query.ids)
    page = search_runs(store, ids, query.filter_text, query.order_by or None,
                       query.max_results, query.page_token, query.view)  # fmt: skip
    if output == "json":
        print_json({"runs": [run.to_json() for run in page.runs],
                    "next_page_token": page.next_page_token})  # fmt: skip
    elif output == "csv":
        _print_csv(page.runs, chosen or all_columns(page.runs))
    else:
        named = named_columns(query.filter_text, query.order_by)
        _print_table(page.runs, chosen, named, wide)
        if not page.runs:
            info("no runs match the filter" if query.filter_text.strip() else "no runs found")
        for note in missing_keys(page.runs, [*(chosen or []), *named]):
            info(note)
        if page.next_page_token:
            more_footer("runs", page.next_page_token, wide)


def missing_keys(runs: list[Run], columns: list[str]) -> list[str]:
    """A note for each params./metrics./tags. column no run shown has (a typo, most often):
    ``no run shown has a metric 'lose' (did you mean metrics.loss?)``."""
    if not runs:
        return []
    notes = []
    kinds = {"params.": "param", "metrics.": "metric", "tags.": "tag"}
    known = all_columns(runs, user_tags_only=False)
    shown = all_columns(runs)  # what to suggest: not mlrun's own tags
    for column in dict.fromkeys(columns):
        prefix = next((p for p in kinds if column.startswith(p)), None)
        if prefix is None or column in known:
            continue
        have = [c[len(prefix) :] for c in shown if c.startswith(prefix)]
        key = column[len(prefix) :]
        import difflib  # (only for a key no run has: difflib costs a search ~5 ms)

        close = difflib.get_close_matches(key, have, n=1)
        if close:
            hint = f"did you mean {prefix}{close[0]}?"
        else:
            hint = (
                f"they have: {', '.join(have[:8])}{', …' if len(have) > 8 else ''}"
                if have
                else f"they have no {kinds[prefix]}s"
            )
        notes.append(f"no run shown has a {kinds[prefix]} {key!r} ({hint})")
    return notes


def more_footer(noun: str, token: str, wide: bool) -> None:
    """``more runs: --page-token TOKEN``, or, when that does not fit the terminal, the token
    alone on the next line: never broken, so it can be copied whole."""
    from mlrun_cli.cli._table import PIPED_WIDTH, terminal_width

    line = f"more {noun}: --page-token {token}"
    if wide or len(f"mlrun: {line}") <= (terminal_width() or PIPED_WIDTH):
        info(line)
        return
    info(f"more {noun}: pass --page-token with this token (one word):")
    if not State.quiet:
        message(token)  # alone on its line, without the "mlrun: " prefix: copied whole


def named_columns(filter_text: str, order_by: list[str]) -> list[str]:
    """The columns a filter and the order keys name (always shown in the table)."""
    from mlrun_cli.cli._columns import ATTRIBUTES
    from mlrun_cli.tracking.run_search import parse_order_by
    from mlrun_cli.tracking.search import And, Comparison, Not, Or, parse_filter

    prefixes = {"metric": "metrics.", "param": "params.", "tag": "tags."}
    keys = [(k.entity, k.key) for k in map(parse_order_by, order_by)]
    stack = [parse_filter(filter_text)] if filter_text.strip() else []
    while stack:
        node = stack.pop()
        if isinstance(node, Comparison):
            keys.append((node.entity, node.key))
        elif isinstance(node, (And, Or)):
            stack += [node.right, node.left]
        elif isinstance(node, Not):
            stack.append(node.operand)
    names = []
    for entity, key in keys:
        name = prefixes[entity] + key if entity in prefixes else key
        if (entity in prefixes or name in ATTRIBUTES) and name not in names:
            names.append(name)
    return names


def _print_csv(runs: list[Run], columns: list[str]) -> None:
    import csv
    import sys

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for run in runs:
        writer.writerow([cell(run, column, exact=True) for column in columns])


NAME_FLOOR = 16
FIXED = ("run_id", "status", "start_time", "end_time", "exit_code", "dirty", "experiment_id")


def _print_table(found: list[Run], columns: list[str] | None, named: list[str], wide: bool) -> None:
    from mlrun_cli.cli._table import Table, print_table

    same: list[str] = []
    if columns is None:
        varying = varying_columns(found)
        columns = ["run_id", "run_name", "status", "start_time", *varying]
        columns += [name for name in named if name not in columns]
        if len(found) > 1:
            candidates = [c for c in all_columns(found) if c.startswith(("params.", "metrics."))]
            same = [c for c in candidates if c not in columns]
    for column in columns:
        if found:
            cell(found[0], column)  # unknown names fail here, before printing anything
    keep = {i for i, c in enumerate(columns) if c in named}
    right = {i for i, c in enumerate(columns) if c.startswith("metrics.")}
    fixed = right | {i for i, c in enumerate(columns) if c in FIXED}
    # Every run's artifact_uri starts alike and ends in "/artifacts": its end tells them apart.
    ends = {i for i, c in enumerate(columns) if c == "artifact_uri"}
    # A run's name is how people know it: cut to 16 at least before more columns go.
    floor = {i: NAME_FLOOR for i, c in enumerate(columns) if c == "run_name"}
    table = Table(list(columns), right=right, keep=keep, fixed=fixed, ends=ends, floor=floor)
    table.drop_order = drop_order(columns)
    for run in found:
        table.add_row(*(_styled_cell(run, column) for column in columns))
    print_table(table, wide=wide)
    if same:
        from mlrun_cli.cli._table import PIPED_WIDTH, terminal_width

        pairs = [f"{c}={display(found[0], c) or '-'}" for c in same]
        info(same_note(pairs, terminal_width(wide) or PIPED_WIDTH))


def drop_order(columns: list[str]) -> list[int]:
    """The columns most wanted first: the others in order, then params and metrics taken in
    turn (a wide sweep's params do not push out every metric). The start time goes before the
    first metric and the first param do: at 80 columns a sweep shows what it varied and what
    came of it (the rows are in start order anyway)."""
    params = [i for i, c in enumerate(columns) if c.startswith("params.")]
    metrics = [i for i, c in enumerate(columns) if c.startswith("metrics.")]
    late = [i for i, c in enumerate(columns) if c == "start_time"]
    order = [i for i in range(len(columns)) if i not in params + metrics + late]
    for index in range(max(len(params), len(metrics))):
        order += [group[index] for group in (metrics, params) if index < len(group)]
        if index == 0:
            order += late
    return order + [i for i in late if i not in order]


def same_note(pairs: list[str], width: int) -> str:
    """``same in every run: params.seed=1, … (--columns shows them)``, within ``width``; at
    least the first pair, however narrow."""
    head, tail = "same in every run: ", " (--columns shows them)"
    room = width - len("mlrun: ") - len(head) - len(tail)
    shown = [pairs[0]]
    for count, pair in enumerate(pairs[1:], 2):
        more = "" if count == len(pairs) else f", … (+{len(pairs)})"
        if len(", ".join([*shown, pair])) + len(more) > room:
            break
        shown.append(pair)
    if len(shown) < len(pairs):
        shown.append(f"… (+{len(pairs) - len(shown)})")
    return head + ", ".join(shown) + tail


def _styled_cell(run: Run, column: str) -> str | tuple[str, str]:
    if column == "status":
        return (run.status, STATUS_STYLES.get(run.status, "33"))
    return display(run, column)


def search_experiments_command(
    view: str, filter_text: str, max_results: int | None, *, wide: bool, json_output: bool,
    tracking_uri: str | None, page_token: str | None = None,
) -> None:  # fmt: skip
    """``experiments search``."""
    store = open_cli_store(tracking_uri)
    # No filter: the store imports no filter parser (~4 ms).
    found = store.search_experiments(view_name(view), filter_text)
    if page_token:  # a page starts after the last experiment (by id) of the one before
        after = _token_experiment(page_token)
        found = [e for e in found if int(e.experiment_id) > after]
    next_token = None
    if max_results and len(found) > max_results:
        found = found[:max_results]
        next_token = _experiment_token(int(found[-1].experiment_id))
    if json_output:
        print_json({"experiments": [e.to_json() for e in found], "next_page_token": next_token})
        return
    from mlrun_cli.cli._table import Table, print_table

    tagged = any(experiment.tags for experiment in found)
    headers = ["ID", "Name", "Stage", "Created", *(["Tags"] if tagged else [])]
    table = Table(headers, right={0}, keep={1}, fixed={0, 2, 3})
    for experiment in found:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(experiment.tags.items()))
        table.add_row(
            experiment.experiment_id,
            experiment.name,
            experiment.lifecycle_stage,
            format_time(experiment.creation_time),
            *([tags] if tagged else []),
        )
    print_table(table, wide=wide)
    if next_token:
        more_footer("experiments", next_token, wide)


def _experiment_token(experiment_id: int) -> str:
    import base64
    import json

    text = json.dumps({"experiment_after": experiment_id})
    return base64.urlsafe_b64encode(text.encode()).decode()


def _token_experiment(token: str) -> int:
    import base64
    import binascii
    import json

    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["experiment_after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        after = None
    if not isinstance(after, int) or isinstance(after, bool):
        from mlrun_cli.errors import UsageError

        raise UsageError(f"--page-token {token!r}: not a token `experiments search` gave out")
    return after
