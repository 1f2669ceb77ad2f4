"""Run search paging and ordering against a plain-Python reference, on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from mlrun_cli.errors import UsageError
from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, Param, RunCreate
from mlrun_cli.tracking.queries import search_runs
from mlrun_cli.tracking.run_search import (
    OrderKey,
    decode_page_token,
    encode_page_token,
    parse_order_by,
)
from mlrun_cli.tracking.search import RUN_SCHEMA, parse_filter
from mlrun_cli.tracking.search_eval import Record, evaluate
from tests.unit.tracking.conftest import BACKENDS, open_backend

RUNS = 60


@pytest.fixture(scope="module", params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    opened = open_backend(request.param, request, tmp_path_factory.mktemp("search"))
    experiment = opened.get_or_create_experiment("e").experiment_id
    for index in range(RUNS):
        params = [Param("alpha", rng.choice(["0.1", "0.5", "1"]))]
        if rng.random() < 0.7:
            params.append(Param("opt", rng.choice(["adam", "sgd"])))
        run = opened.create_run(
            RunCreate(
                experiment, f"r{index}", "main", "x", CodeVersion("local", "/p"), tuple(params)
            )
        )
        metrics = []
        if rng.random() < 0.8:
            value = rng.choice([math.nan, 0.25, 0.5, rng.random()])
            metrics.append(Metric("rmse", value, 0, 1))
        tags = (("team", rng.choice("ab")),) if rng.random() < 0.6 else ()
        opened.log_batch(run.run_id, EventBatch(metrics=tuple(metrics), tags=tags))
        if rng.random() < 0.5:
            opened.finish_run(run.run_id, rng.choice(["FINISHED", "FAILED"]))
    yield opened
    opened.close()


def reference(runs, order: list[OrderKey], created: list[str]):  # type: ignore[no-untyped-def]
    def value(run, key: OrderKey):  # type: ignore[no-untyped-def]
        if key.entity == "metric":
            metric = run.metrics.get(key.key)
            return None if metric is None or math.isnan(metric.value) else metric.value
        if key.entity == "param":
            return next((p.value for p in run.params if p.key == key.key), None)
        if key.entity == "tag":
            return run.tags.get(key.key)
        return {"start_time": run.start_time, "end_time": run.end_time, "status": run.status,
                "run_name": run.name}[key.key]  # fmt: skip

    rank = {run_id: index for index, run_id in enumerate(created)}
    ordered = sorted(runs, key=lambda r: rank[r.run_id])  # ties: creation order
    for key in reversed(order):
        present = [r for r in ordered if value(r, key) is not None]
        missing = [r for r in ordered if value(r, key) is None]
        present.sort(key=lambda r: value(r, key), reverse=key.descending)
        ordered = present + missing
    return [r.run_id for r in ordered]


def record(run) -> Record:  # type: ignore[no-untyped-def]
    return Record(
        attributes={"status": run.status, "start_time": run.start_time, "run_id": run.run_id},
        params={p.key: p.value for p in run.params},
        tags=dict(run.tags),
        metrics={k: m.value for k, m in run.metrics.items()},
    )


ORDERS = [
    [],
    ["metrics.rmse"],
    ["metrics.rmse DESC"],
    ["params.opt", "metrics.rmse DESC"],
    ["tags.team DESC", "params.alpha"],
    ["end_time DESC"],
    ["status", "metrics.rmse"],
    ["tags.team", "metrics.rmse"],
    ["params.alpha DESC", "tags.team", "metrics.rmse DESC"],
    ["params.alpha", "start_time DESC"],
    ["metrics.rmse", "params.alpha"],
]
FILTERS = [
    "",
    "params.alpha = '0.5'",
    "metrics.rmse < 0.6 or tags.team = 'a'",
    "not params.opt = 'sgd'",
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("filter_text", FILTERS)
def test_pages_match_the_reference(store, order: list[str], filter_text: str) -> None:  # type: ignore[no-untyped-def]
    _check_pages(store, order, filter_text)


@pytest.mark.parametrize("order", ORDERS[3:])
@pytest.mark.parametrize(("small", "classes"), [(0, 16), (2000, 1), (0, 1)])
def test_every_order_class_plan_pages_the_same(  # type: ignore[no-untyped-def]
    store, order: list[str], small: int, classes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large classes (walking the next key's index), many classes (the sorted rest)."""
    from mlrun_cli.tracking.sql import keyset

    monkeypatch.setattr(keyset, "SMALL_CLASS", small)
    monkeypatch.setattr(keyset, "MAX_CLASSES", classes)
    _check_pages(store, order, "")
    _check_pages(store, order, "metrics.rmse < 0.6 or tags.team = 'a'")


def test_keyset_tokens_are_checked(store) -> None:  # type: ignore[no-untyped-def]
    from mlrun_cli.tracking.run_search import encode_keyset_token, order_signature

    page = search_runs(store, ["1"], "", ["metrics.rmse"], 5)
    assert page.next_page_token is not None
    with pytest.raises(UsageError, match="another --order-by"):
        search_runs(store, ["1"], "", ["params.alpha"], 5, page.next_page_token)
    signature = order_signature((parse_order_by("metrics.rmse"),))
    forged = [encode_keyset_token(([1, 2],), "x", "o"), "eyJhZnRlciI6W3RydWVdLCJpZCI6IngifQ==",
              encode_keyset_token(("text",), "x", signature)]  # fmt: skip
    for token in forged:
        with pytest.raises(UsageError, match="not a token mlrun gave out"):
            search_runs(store, ["1"], "", ["metrics.rmse"], 5, token)
    # An offset token (the UI's numbered pages) still pages by offset.
    everything = [r.run_id for r in search_runs(store, ["1"], "", None, 1000).runs]
    deep = search_runs(store, ["1"], "", None, 5, encode_page_token(10))
    assert [r.run_id for r in deep.runs] == everything[10:15]


def _check_pages(store, order: list[str], filter_text: str) -> None:  # type: ignore[no-untyped-def]
    everything = search_runs(store, ["1"], "", None, 1000).runs
    assert len(everything) == RUNS
    expr = parse_filter(filter_text, schema=RUN_SCHEMA)
    matching = [r for r in everything if expr is None or evaluate(expr, record(r))]
    keys = [parse_order_by(o) for o in order] or [parse_order_by("start_time DESC")]
    created = [str(row[0]) for row in store.connection.execute(
        "SELECT run_id FROM runs ORDER BY run_key").fetchall()]  # fmt: skip
    expected = reference(matching, keys, created)
    got, token = [], None
    while True:
        page = search_runs(store, ["1"], filter_text, order or None, 7, token)
        got += [r.run_id for r in page.runs]
        token = page.next_page_token
        if token is None:
            break
    assert got == expected


def test_order_by_parsing() -> None:
    assert parse_order_by("metrics.rmse") == OrderKey("metric", "rmse", descending=False)
    assert parse_order_by("params.`my key` desc") == OrderKey("param", "my key", descending=True)
    assert parse_order_by("start_time DESC") == OrderKey("attribute", "start_time", descending=True)
    for bad, message in [("metrics.rmse UP", "expected ASC or DESC"), ("color", "unknown attribute 'color'"),
                         ("", "expected KEY")]:  # fmt: skip
        with pytest.raises(UsageError, match=message):
            parse_order_by(bad)


def test_page_tokens(tmp_path: Path) -> None:
    assert decode_page_token(encode_page_token(300)) == 300
    with pytest.raises(UsageError, match="not a token mlrun gave out"):
        decode_page_token("garbage")


def test_mlflow_spellings_of_keys(store) -> None:  # type: ignore[no-untyped-def]
    """Backticked entities, `run name` / created aliases and the derived artifact_uri."""
    exp = store.get_or_create_experiment("e").experiment_id
    every = search_runs(store, [exp], max_results=1000)
    first = next(r for r in every.runs if r.name == "r0")
    by_name = search_runs(
        store, [exp], filter_text="`attributes`.`run name` = 'r0'", max_results=1000
    )
    assert [r.run_id for r in by_name.runs] == [first.run_id]
    uri = search_runs(store, [exp], filter_text=f"attributes.artifact_uri = '{first.artifact_uri}'")
    assert [r.run_id for r in uri.runs] == [first.run_id]
    like = search_runs(store, [exp], filter_text="attributes.artifact_uri LIKE '%/artifacts/%'",
                       max_results=1000)  # fmt: skip
    assert len(like.runs) == RUNS
    backticked = search_runs(store, [exp], filter_text="`metrics`.rmse >= 0 and `params`.alpha = '1'",
                             max_results=1000)  # fmt: skip
    plain = search_runs(store, [exp], filter_text="metrics.rmse >= 0 and params.alpha = '1'",
                        max_results=1000)  # fmt: skip
    assert [r.run_id for r in backticked.runs] == [r.run_id for r in plain.runs]
    created = search_runs(
        store, [exp], filter_text=f"created >= {first.start_time}", max_results=1000
    )
    assert len(created.runs) == RUNS
    assert parse_order_by("`run name` DESC") == OrderKey("attribute", "run_name", descending=True)
    assert parse_order_by("`attributes`.Created") == OrderKey("attribute", "start_time")
    assert parse_order_by("`metrics`.rmse") == OrderKey("metric", "rmse")
