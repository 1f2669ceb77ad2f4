"""The runs and experiments commands of the search issue, in-process on a real store."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from mlrun_cli.cli.app import app
from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, Param, RunCreate
from mlrun_cli.tracking.store import open_store

runner = CliRunner()


def mlrun(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def runs() -> list[str]:
    store = open_store()
    experiment = store.get_or_create_experiment("wine").experiment_id
    ids = []
    for index, (alpha, rmse) in enumerate([("0.5", 0.7), ("0.5", 0.9), ("0.1", 0.6)]):
        run = store.create_run(RunCreate(experiment, f"r{index}", "main", "python t.py",
                                         CodeVersion("local", "/p"), (Param("alpha", alpha, "float"),
                                                                       Param("seed", "1", "int"))))  # fmt: skip
        history = tuple(Metric("rmse", rmse + step, 10 - step, step) for step in range(3))[::-1]
        store.log_batch(run.run_id, EventBatch(metrics=history, tags=(("team", "x"),)))
        store.finish_run(run.run_id, "FINISHED", 0)
        ids.append(run.run_id)
    store.close()
    return ids


def test_search_filter_order_and_formats(runs: list[str]) -> None:
    code, out, _ = mlrun("runs", "search", "--filter", "params.alpha = '0.5' and metrics.rmse < 0.8",
                         "--order-by", "metrics.rmse ASC", "--format", "json")  # fmt: skip
    assert code == 0
    assert [r["run_id"] for r in json.loads(out)["runs"]] == [runs[0]]
    _, out, _ = mlrun("runs", "search", "--order-by", "metrics.rmse DESC", "-f", "csv",
                      "--columns", "run_id,params.alpha,metrics.rmse")  # fmt: skip
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["run_id", "params.alpha", "metrics.rmse"]
    assert [r[0] for r in rows[1:]] == [runs[1], runs[0], runs[2]]
    assert rows[1][2] == "0.9"
    _, out, _ = mlrun("runs", "search", "--experiment-name", "wine")
    header = out.splitlines()[0].split()
    assert header == ["run_id", "run_name", "status", "start_time", "params.alpha", "metrics.rmse"]


def test_pages(runs: list[str]) -> None:
    seen, token = [], None
    while True:
        args = ["runs", "search", "--max-results", "2", "--json", "--order-by", "run_name"]
        _, out, _ = mlrun(*args, *(["--page-token", token] if token else []))
        data = json.loads(out)
        seen += [r["run_name"] for r in data["runs"]]
        token = data["next_page_token"]
        if token is None:
            break
    assert seen == ["r0", "r1", "r2"]
    _, _, err = mlrun("runs", "search", "--max-results", "1")
    assert "more runs:" in err
    assert "--page-token" in err


def test_a_page_token_too_long_for_the_line_gets_a_line_of_its_own(runs: list[str]) -> None:
    _, out, _ = mlrun("runs", "search", "--max-results", "1", "--json", "--order-by", "run_name")
    token = json.loads(out)["next_page_token"]
    args = ("runs", "search", "--max-results", "1", "--order-by", "run_name")
    _, _, err = mlrun(*args)
    lines = err.splitlines()[-2:]
    assert lines == [
        "mlrun: more runs: pass --page-token with this token (one word):",
        token,  # alone: a triple click copies it whole
    ]
    assert all(len(line) <= 80 for line in lines[:1])
    _, _, err = mlrun(*args, "--wide")
    assert err.splitlines()[-1] == f"mlrun: more runs: --page-token {token}"


def test_names_no_run_has_and_empty_results_are_said(runs: list[str]) -> None:
    code, out, err = mlrun("runs", "search", "--order-by", "metrics.rmsee",
                           "--columns", "run_id,params.nope")  # fmt: skip
    assert code == 0
    assert "no run shown has a metric 'rmsee' (did you mean metrics.rmse?)" in err
    assert "no run shown has a param 'nope' (they have: " in err
    code, out, err = mlrun("runs", "search", "--filter", "params.alpha = 'none'")
    assert (code, len(out.splitlines())) == (0, 1)  # the header
    assert err.strip().endswith("no runs match the filter")
    code, _, err = mlrun("runs", "search", "--columns", " , ")
    assert (code, err.count("error: --columns")) == (2, 1)


def test_bad_filter_and_order(runs: list[str]) -> None:
    code, _, err = mlrun("runs", "search", "--filter", "metrics.rmse < 'a'")
    assert code == 2
    assert err.splitlines()[1:] == ["  metrics.rmse < 'a'", "                 ^"]
    code, _, err = mlrun("runs", "search", "--order-by", "colour")
    assert (code, err.split(":")[0]) == (2, "error")
    code, _, err = mlrun("runs", "search", "--format", "xml")
    assert "--format: expected one of table, json, csv; got 'xml'" in err
    code, _, err = mlrun("runs", "search", "--columns", "nope")
    assert "--columns: unknown column 'nope'" in err


def test_metric_history(runs: list[str]) -> None:
    _, out, _ = mlrun("runs", "metric", runs[0], "rmse", "--format", "csv")
    assert out.splitlines() == ["step,value,timestamp", "8,2.7,2", "9,1.7,1", "10,0.7,0"]
    _, out, _ = mlrun("runs", "metric", runs[0][:6], "rmse", "--format", "json")
    assert [p["step"] for p in json.loads(out)["history"]] == [8, 9, 10]
    code, _, err = mlrun("runs", "metric", runs[0], "loss")
    assert code == 2
    assert "has no metric 'loss'; it has: rmse" in err


def test_delete_restore_and_tag(runs: list[str]) -> None:
    assert mlrun("runs", "delete", runs[0])[1] == f"Deleted run {runs[0]}\n"
    _, out, _ = mlrun("runs", "search", "--json")
    assert runs[0] not in out
    _, out, _ = mlrun("runs", "search", "--view", "deleted", "--json")
    assert [r["run_id"] for r in json.loads(out)["runs"]] == [runs[0]]
    mlrun("runs", "restore", runs[0])
    _, out, _ = mlrun("runs", "tag", runs[0], "reviewed=yes", "team=y")
    assert out == f"Tagged run {runs[0]}: reviewed=yes, team=y\n"
    _, out, _ = mlrun("runs", "search", "--filter", "tags.reviewed = 'yes'", "--json")
    assert [r["tags"]["team"] for r in json.loads(out)["runs"]] == ["y"]
    _, _, err = mlrun("runs", "tag", runs[0], "novalue")
    assert "tag 'novalue': expected KEY=VALUE" in err


def test_compare(runs: list[str]) -> None:
    code, out, _ = mlrun("runs", "compare", runs[0], runs[2])
    assert code == 0
    lines = {
        line.split()[1] if line.startswith("*") else line.split()[0]: line
        for line in out.splitlines()[1:]
    }
    assert lines["params.alpha"].startswith("*")
    assert not lines["params.seed"].startswith("*")
    _, out, _ = mlrun("runs", "compare", runs[0], runs[2], "--json")
    rows = {row["field"]: row for row in json.loads(out)["rows"]}
    assert rows["metrics.rmse"]["values"] == [0.7, 0.6]
    assert rows["metrics.rmse"]["differs"] is True
    assert rows["metrics.rmse"]["deltas"][0] == {"change": 0.0, "percent": 0.0}
    assert rows["metrics.rmse"]["deltas"][1]["percent"] == pytest.approx(-14.2857, rel=1e-4)
    assert "deltas" not in rows["params.alpha"]
    code, _, err = mlrun("runs", "compare", runs[0])
    assert "give at least two run ids" in err


def test_experiment_tags_and_filters(runs: list[str]) -> None:
    mlrun("experiments", "create", "-n", "wine-2", "--tag", "team=x")
    mlrun("experiments", "create", "-n", "beer")
    mlrun("experiments", "tag", "-n", "wine", "team=y")
    _, out, _ = mlrun(
        "experiments", "search", "--filter", "name LIKE 'wine%' and tags.team = 'x'", "--json"
    )
    assert [e["name"] for e in json.loads(out)["experiments"]] == ["wine-2"]


def test_python_api(runs: list[str]) -> None:
    import mlrun_cli

    page = mlrun_cli.search_runs("metrics.rmse < 0.8", order_by=["metrics.rmse"])
    assert [r.run_id for r in page.runs] == [runs[2], runs[0]]
    assert mlrun_cli.get_run(runs[1][:8]).name == "r1"


def test_artifact_uri_is_a_column_and_a_filter(runs: list[str]) -> None:
    code, out, _ = mlrun("runs", "search", "-f", "csv", "--columns", "run_id,artifact_uri")
    assert code == 0
    rows = dict(list(csv.reader(io.StringIO(out)))[1:])
    uri = rows[runs[0]]
    assert uri.endswith(f"/artifacts/{runs[0]}")
    _, out, _ = mlrun("runs", "search", "-f", "csv", "--columns", "run_id",
                      "--filter", f"attributes.artifact_uri = '{uri}'")  # fmt: skip
    assert out.split() == ["run_id", runs[0]]


def test_a_token_from_another_order_is_refused(runs: list[str]) -> None:
    _, out, _ = mlrun("runs", "search", "--max-results", "1", "--json", "--order-by", "run_name")
    token = json.loads(out)["next_page_token"]
    code, _, err = mlrun("runs", "search", "--page-token", token, "--order-by", "metrics.rmse")
    assert code == 2
    assert err.startswith("error: --page-token: the token belongs to a search with another")
    code, _, err = mlrun("runs", "search", "--page-token", "bm9wZQ==")
    assert code == 2
    assert "not a token mlrun gave out" in err
