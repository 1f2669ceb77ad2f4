"""The MLflow REST handlers over a real SQLite store: shapes, errors, idempotency."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlrun_cli.errors import StoreError
from mlrun_cli.mlflow_compat.handlers import handle
from mlrun_cli.mlflow_compat.loopback import finish_session
from mlrun_cli.mlflow_compat.protocol import API, ARTIFACTS_API, Request, Response
from mlrun_cli.mlflow_compat.session import Session
from mlrun_cli.tracking.models import CodeVersion, Param, RunCreate
from mlrun_cli.tracking.queries import search_runs
from mlrun_cli.tracking.sqlite import SqliteStore
from mlrun_cli.tracking.store import open_store


@pytest.fixture
def session(tmp_path: Path) -> Session:
    store = open_store(str(tmp_path / "store"))
    run = store.create_run(
        RunCreate(
            experiment_id="0", name="root", entry_point="main", command="python t.py",
            code=CodeVersion("local", "/p", content_hash="h"),
            params=(Param("alpha", "0.5", "float"),),
        )
    )  # fmt: skip
    return Session(store, run.run_id, "0")


def _run_count(session: Session) -> int:
    ids = [e.experiment_id for e in session.store.search_experiments("all")]
    return len(search_runs(session.store, ids, "", None, 1000, None, "all").runs)


def call(session: Session, method: str, url_path: str, body: Any = None, **query: str) -> Response:
    raw = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    url = url_path if url_path.startswith("/api/") else f"{API}/{url_path}"
    return handle(session, Request(method, url, {k: [v] for k, v in query.items()}, raw))


def ok(response: Response) -> dict[str, Any]:
    assert response.status == 200, response.body
    return response.body or {}


def test_get_run_has_mlflow_shape(session: Session) -> None:
    run = ok(call(session, "GET", "runs/get", run_id=session.run_id))["run"]
    assert run["info"]["run_id"] == run["info"]["run_uuid"] == session.run_id
    assert run["info"]["status"] == "RUNNING"
    assert run["info"]["artifact_uri"] == f"mlflow-artifacts:/{session.run_id}"
    assert {"key": "alpha", "value": "0.5"} in run["data"]["params"]
    assert "end_time" not in run["info"]


def test_errors_have_mlflow_codes_and_statuses(session: Session) -> None:
    missing = call(session, "GET", "runs/get", run_id="f" * 32)
    assert (missing.status, (missing.body or {})["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    bad = call(
        session, "POST", "runs/log-metric", {"run_id": session.run_id, "key": "m", "value": "x"}
    )
    assert (bad.status, (bad.body or {})["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    no_key = call(session, "POST", "runs/log-metric", {"run_id": session.run_id, "value": 1})
    assert "Missing value for required parameter 'key'" in (no_key.body or {})["message"]
    not_json = call(session, "POST", "runs/log-metric", b"{nope")
    assert not_json.status == 400
    unknown = call(session, "POST", "runs/frobnicate", {})
    assert (unknown.status, (unknown.body or {})["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    call(session, "POST", "runs/frobnicate", {})
    assert session.unknown == {f"POST {API}/runs/frobnicate": 2}
    warnings = finish_session(session)
    assert any("2 MLflow call(s)" in w and "runs/frobnicate" in w for w in warnings)


def test_retried_writes_never_duplicate(session: Session) -> None:
    point = {"run_id": session.run_id, "key": "loss", "value": 0.5, "timestamp": 7, "step": 1}
    for _ in range(2):
        ok(call(session, "POST", "runs/log-metric", point))
    batch = {"run_id": session.run_id, "metrics": [{**point, "step": 2}],
             "params": [{"key": "b", "value": "1"}], "tags": [{"key": "t", "value": "v"}]}  # fmt: skip
    for _ in range(2):
        ok(call(session, "POST", "runs/log-batch", batch))
    history = ok(
        call(session, "GET", "metrics/get-history", run_id=session.run_id, metric_key="loss")
    )
    assert [m["step"] for m in history["metrics"]] == [1, 2]
    # Identical creations are distinct runs, as on an MLflow server: autolog makes
    # GridSearchCV's children with identical requests.
    create = {"experiment_id": "0", "start_time": 5, "tags": [{"key": "x", "value": "y"}]}
    first = ok(call(session, "POST", "runs/create", create))["run"]["info"]["run_id"]
    again = ok(call(session, "POST", "runs/create", create))["run"]["info"]["run_id"]
    assert first != again
    assert session.created == [first, again]


def test_params_are_immutable(session: Session) -> None:
    same = {"run_id": session.run_id, "key": "alpha", "value": "0.5"}
    ok(call(session, "POST", "runs/log-parameter", same))
    changed = call(session, "POST", "runs/log-parameter", {**same, "value": "0.7"})
    body = changed.body or {}
    assert (changed.status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "Changing param values is not allowed" in body["message"]
    in_batch = {"run_id": session.run_id, "params": [{"key": "alpha", "value": "1"}]}
    assert call(session, "POST", "runs/log-batch", in_batch).status == 400


def test_mlrun_tags_are_reserved(session: Session) -> None:
    tag = {"run_id": session.run_id, "key": "mlrun.env.manager", "value": "x"}
    assert call(session, "POST", "runs/set-tag", tag).status == 400
    ok(call(session, "POST", "runs/set-tag", {**tag, "key": "team"}))
    ok(call(session, "POST", "runs/delete-tag", {"run_id": session.run_id, "key": "team"}))
    gone = call(session, "POST", "runs/delete-tag", {"run_id": session.run_id, "key": "team"})
    assert gone.status == 404


def test_child_finished_is_advisory_for_the_mlrun_run(session: Session) -> None:
    done = {"run_id": session.run_id, "status": "FINISHED", "end_time": 9}
    info = ok(call(session, "POST", "runs/update", done))["run_info"]
    assert info["status"] == "RUNNING"
    assert session.store.get_run(session.run_id).status == "RUNNING"


def test_nested_runs_get_their_parent_and_are_ended(session: Session) -> None:
    nested = {"experiment_id": "0", "run_name": "inner",
              "tags": [{"key": "mlflow.parentRunId", "value": session.run_id}]}  # fmt: skip
    child = ok(call(session, "POST", "runs/create", nested))["run"]["info"]["run_id"]
    grand = {"experiment_id": "0", "tags": [{"key": "mlflow.parentRunId", "value": child}]}
    grandchild = ok(call(session, "POST", "runs/create", grand))["run"]["info"]["run_id"]
    store = session.store
    assert store.get_run(child).parent_run_id == session.run_id
    assert store.get_run(grandchild).parent_run_id == child
    assert store.get_run(child).name == "inner"
    ok(call(session, "POST", "runs/update", {"run_id": child, "status": "FAILED"}))
    assert store.get_run(child).status == "FAILED"
    store.finish_run(session.run_id, "KILLED")
    finish_session(session)
    assert store.get_run(grandchild).status == "KILLED"


def test_search_runs_uses_mlflow_filters(session: Session) -> None:
    ok(call(session, "POST", "runs/log-metric",
            {"run_id": session.run_id, "key": "rmse", "value": 0.3, "timestamp": 1}))  # fmt: skip
    found = ok(call(session, "POST", "runs/search",
                    {"experiment_ids": ["0"], "filter": "metrics.rmse < 0.5"}))  # fmt: skip
    assert [r["info"]["run_id"] for r in found["runs"]] == [session.run_id]
    bad = call(
        session, "POST", "runs/search", {"experiment_ids": ["0"], "filter": "metrics.rmse <"}
    )
    assert bad.status == 400


def test_experiments(session: Session) -> None:
    assert ok(call(session, "GET", "experiments/get-by-name", experiment_name="Default"))[
        "experiment"]["experiment_id"] == "0"  # fmt: skip
    assert call(session, "GET", "experiments/get-by-name", experiment_name="nope").status == 404
    # A team server's session (no run of its own) creates experiments as MLflow's does.
    server = Session(session.store, "", "0")
    created = ok(call(server, "POST", "experiments/create", {"name": "other"}))["experiment_id"]
    again = call(server, "POST", "experiments/create", {"name": "other"})
    assert (again.status, (again.body or {})["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    got = ok(call(session, "GET", "experiments/get", experiment_id=created))["experiment"]
    assert got["name"] == "other"


def test_the_run_experiment_is_pinned_and_a_refusal_leaves_nothing(session: Session) -> None:
    refused = call(session, "POST", "experiments/create", {"name": "elsewhere"})
    body = refused.body or {}
    assert (refused.status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "--experiment-name elsewhere" in body["message"]
    assert "'Default'" in body["message"]
    assert session.store.get_experiment_by_name("elsewhere") is None
    other = session.store.create_experiment("other")
    before = _run_count(session)
    in_other = call(session, "POST", "runs/create", {"experiment_id": other.experiment_id})
    assert in_other.status == 400
    assert (in_other.body or {})["error_code"] == "INVALID_PARAMETER_VALUE"
    assert _run_count(session) == before
    ok(call(session, "POST", "runs/create", {"experiment_id": "0"}))  # its own: fine


def test_a_run_name_renames_the_run(session: Session) -> None:
    run_id = session.run_id
    # start_run(run_name=...) resuming the mlrun run: runs/update with run_name.
    info = ok(call(session, "POST", "runs/update", {"run_id": run_id, "run_name": "first"}))
    assert info["run_info"]["run_name"] == "first"
    assert session.store.get_run(run_id).name == "first"
    ok(call(session, "POST", "runs/set-tag",
            {"run_id": run_id, "key": "mlflow.runName", "value": "second"}))  # fmt: skip
    assert session.store.get_run(run_id).name == "second"
    batch = {"run_id": run_id, "tags": [{"key": "mlflow.runName", "value": "third"}]}
    ok(call(session, "POST", "runs/log-batch", batch))
    run = ok(call(session, "GET", "runs/get", run_id=run_id))["run"]
    assert run["info"]["run_name"] == "third"
    assert {"key": "mlflow.runName", "value": "third"} in run["data"]["tags"]
    ok(call(session, "POST", "runs/set-tag", {"run_id": run_id, "key": "mlflow.runName",
                                              "value": " "}))  # fmt: skip
    assert session.store.get_run(run_id).name == "third"  # a blank name renames nothing


def test_artifacts_upload_download_list(session: Session) -> None:
    base = f"{ARTIFACTS_API}/{session.run_id}"
    ok(call(session, "PUT", f"{base}/conf/d.json", b'{"a": 1}'))
    ok(call(session, "PUT", f"{base}/conf/d.json", b'{"a": 1}'))  # a retry replaces
    run = session.store.get_run(session.run_id)
    assert [(a.path, a.size) for a in run.artifacts] == [("conf/d.json", 8)]
    download = call(session, "GET", f"{base}/conf/d.json")
    assert download.file is not None
    assert download.file.read_bytes() == b'{"a": 1}'
    listing = ok(call(session, "GET", ARTIFACTS_API, path=f"{session.run_id}/conf"))
    assert listing["files"] == [{"path": "d.json", "is_dir": False, "file_size": 8}]
    assert call(session, "GET", f"{base}/nope.txt").status == 404
    assert call(session, "PUT", f"{base}/../escape.txt", b"x").status == 400
    assert call(session, "PUT", f"{base}/_mlrun/output.log", b"x").status == 400


def test_logged_model_is_a_run_folder(session: Session) -> None:
    created = ok(call(session, "POST", "logged-models",
                      {"experiment_id": "0", "name": "clf", "source_run_id": session.run_id}))  # fmt: skip
    info = created["model"]["info"]
    assert info["artifact_uri"] == f"mlflow-artifacts:/{session.run_id}/models/clf"
    model_path = f"{API}/logged-models/{info['model_id']}"
    ready = ok(call(session, "PATCH", model_path, {"status": "LOGGED_MODEL_READY"}))
    assert ready["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    ok(call(session, "PATCH", f"{model_path}/tags", {"tags": [{"key": "k", "value": "v"}]}))
    found = ok(call(session, "POST", "logged-models/search",
                    {"experiment_ids": ["0"], "filter": "name = 'clf'"}))  # fmt: skip
    assert [m["info"]["model_id"] for m in found["models"]] == [info["model_id"]]
    ok(call(session, "POST", "runs/outputs",
            {"run_id": session.run_id, "models": [{"model_id": info["model_id"], "step": 0}]}))  # fmt: skip
    run = ok(call(session, "GET", "runs/get", run_id=session.run_id))["run"]
    assert run["outputs"]["model_outputs"] == [{"model_id": info["model_id"], "step": 0}]
    assert call(session, "GET", f"{API}/logged-models/m-nope").status == 404


def test_registry_answers_and_records_tags(session: Session) -> None:
    ok(call(session, "POST", "registered-models/create", {"name": "wine"}))
    dup = call(session, "POST", "registered-models/create", {"name": "wine"})
    assert (dup.status, (dup.body or {})["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    version = ok(call(session, "POST", "model-versions/create",
                      {"name": "wine", "source": "models:/m-1", "run_id": session.run_id}))  # fmt: skip
    assert version["model_version"]["version"] == "1"
    assert version["model_version"]["status"] == "READY"
    ok(call(session, "POST", "registered-models/alias",
            {"name": "wine", "alias": "champion", "version": "1"}))  # fmt: skip
    aliased = ok(call(session, "GET", "registered-models/alias", name="wine", alias="champion"))
    assert aliased["model_version"]["aliases"] == ["champion"]
    tags = session.store.get_run(session.run_id).tags
    assert tags["mlrun.mlflow.registry.wine.v1"] == "models:/m-1"
    assert tags["mlrun.mlflow.registry.wine.alias.champion"] == "1"
    assert call(session, "GET", "model-versions/get", name="wine", version="9").status == 404
    # Older MLflow code's registry calls are answered too (stages are recorded as tags).
    staged = ok(call(session, "POST", "model-versions/transition-stage",
                     {"name": "wine", "version": "1", "stage": "production"}))  # fmt: skip
    assert staged["model_version"]["current_stage"] == "Production"
    assert session.store.get_run(session.run_id).tags["mlrun.mlflow.registry.wine.v1.stage"] == (
        "Production"
    )
    renamed = ok(call(session, "POST", "registered-models/rename",
                      {"name": "wine", "new_name": "red"}))  # fmt: skip
    assert renamed["registered_model"]["name"] == "red"
    ok(call(session, "DELETE", "model-versions/delete", {"name": "red", "version": "1"}))
    ok(call(session, "DELETE", "registered-models/delete", {"name": "red"}))
    assert call(session, "GET", "registered-models/get", name="red").status == 404


def test_malformed_fields_are_client_errors_not_retried_500s(session: Session) -> None:
    bad_ids = call(session, "POST", "runs/search", {"experiment_ids": ["zero"]})
    assert (bad_ids.status, (bad_ids.body or {})["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    bad_tags = call(session, "POST", "runs/log-batch", {"run_id": session.run_id, "tags": "x"})
    assert bad_tags.status == 400


def test_store_errors_never_escape(session: Session, tmp_path: Path) -> None:
    assert isinstance(session.store, SqliteStore)
    session.store.close()
    broken = call(session, "GET", "runs/get", run_id=session.run_id)
    assert (broken.status, (broken.body or {})["error_code"]) == (500, "INTERNAL_ERROR")


def test_an_artifact_path_the_file_system_refuses_is_a_400(session: Session) -> None:
    from mlrun_cli.mlflow_compat.handlers import handle
    from mlrun_cli.mlflow_compat.protocol import Request

    base = f"/api/2.0/mlflow-artifacts/artifacts/{session.run_id}"
    first = handle(session, Request("PUT", f"{base}/report", {}, b"1"))
    assert first.status == 200
    clash = handle(session, Request("PUT", f"{base}/report/details.txt", {}, b"2"))
    assert clash.status == 400


def test_an_earlier_run_is_read_only_under_mlrun_run(session: Session) -> None:
    earlier = session.store.create_run(
        RunCreate(experiment_id="0", name="earlier", entry_point="main", command="c",
                  code=CodeVersion("local", "/p", content_hash="h"))
    ).run_id  # fmt: skip
    session.store.finish_run(earlier, "FINISHED", 0)
    assert ok(call(session, "GET", "runs/get", run_id=earlier))["run"]["info"]["run_id"] == earlier
    writes = [
        ("POST", "runs/log-metric", {"run_id": earlier, "key": "m", "value": 1}),
        ("POST", "runs/log-batch", {"run_id": earlier, "tags": [{"key": "t", "value": "v"}]}),
        ("POST", "runs/set-tag", {"run_id": earlier, "key": "t", "value": "v"}),
        ("POST", "runs/update", {"run_id": earlier, "status": "RUNNING"}),  # start_run(run_id=)
        ("POST", "runs/delete", {"run_id": earlier}),
        ("POST", "runs/create", {"tags": [{"key": "mlflow.parentRunId", "value": earlier}]}),
        ("POST", "logged-models", {"experiment_id": "0", "source_run_id": earlier}),
        ("PUT", f"{ARTIFACTS_API}/{earlier}/f.txt", b"x"),
    ]
    for method, path, body in writes:
        refused = call(session, method, path, body)
        assert refused.status == 400, (path, refused.body)
        assert "read-only here" in (refused.body or {})["message"]
    run = session.store.get_run(earlier)
    assert (run.metrics, run.tags, run.artifacts, run.lifecycle_stage) == ({}, {}, (), "active")
    # A model version of the earlier run's model is recorded in this run instead.
    ok(call(session, "POST", "registered-models/create", {"name": "wine"}))
    ok(call(session, "POST", "model-versions/create",
            {"name": "wine", "source": f"runs:/{earlier}/model", "run_id": earlier}))  # fmt: skip
    assert "mlrun.mlflow.registry.wine.v1" in session.store.get_run(session.run_id).tags
    assert session.store.get_run(earlier).tags == {}
    # A team server's session writes anywhere, as MLflow's server does.
    ok(call(Session(session.store, "", "0"), "POST", "runs/set-tag",
            {"run_id": earlier, "key": "t", "value": "v"}))  # fmt: skip


def test_probes_outside_the_api_are_not_counted(session: Session) -> None:
    assert handle(session, Request("GET", "/version")).status == 404
    assert session.unknown == {}


def test_search_experiments_filters_and_pages(session: Session) -> None:
    for name in ("wine-a", "wine-b", "beer"):
        session.store.create_experiment(name)
    found = ok(call(session, "POST", "experiments/search", {"filter": "name LIKE 'wine%'"}))
    assert [e["name"] for e in found["experiments"]] == ["wine-a", "wine-b"]
    first = ok(call(session, "POST", "experiments/search", {"max_results": 2}))
    assert len(first["experiments"]) == 2
    rest = ok(call(session, "POST", "experiments/search",
                   {"max_results": 2, "page_token": first["next_page_token"]}))  # fmt: skip
    assert [e["name"] for e in rest["experiments"]] == ["wine-b", "beer"]  # after Default
    assert "next_page_token" not in rest
    bad = call(session, "POST", "experiments/search", {"filter": "name LIKE"})
    assert (bad.status, (bad.body or {})["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_a_store_failure_is_answered_with_a_status_mlflow_retries(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_args: object, **_kwargs: object) -> None:
        raise StoreError("tracking store x: database is locked")

    monkeypatch.setattr(session.store, "log_batch", busy)
    point = {"run_id": session.run_id, "key": "m", "value": 1.0, "timestamp": 1}
    answer = call(session, "POST", "runs/log-metric", point)
    assert (answer.status, (answer.body or {})["error_code"]) == (503, "TEMPORARILY_UNAVAILABLE")
    assert "database is locked" in (answer.body or {})["message"]


@pytest.mark.parametrize("timestamp", [4611686018427387904, -99999999999999, 1764633600 * 10**9])
def test_an_out_of_range_metric_timestamp_is_refused(session: Session, timestamp: int) -> None:
    point = {"run_id": session.run_id, "key": "m", "value": 1.0, "timestamp": timestamp}
    for path, body in (("runs/log-metric", point),
                       ("runs/log-batch", {"run_id": session.run_id, "metrics": [point]})):  # fmt: skip
        refused = call(session, "POST", path, body)
        assert (refused.status, (refused.body or {})["error_code"]) == (
            400, "INVALID_PARAMETER_VALUE")  # fmt: skip
        assert "milliseconds since the epoch" in (refused.body or {})["message"]
    assert session.store.get_run(session.run_id).metrics == {}


def test_format_time_never_raises_for_a_stored_value() -> None:
    from mlrun_cli.cli._output import format_time

    assert format_time(4611686018427387904) == "4611686018427387904 ms"
    assert format_time(-99999999999999) == "-99999999999999 ms"
    assert format_time(0)[:2] in ("19",)


def test_experiment_writes_outside_the_run_experiment_are_refused(session: Session) -> None:
    other = session.store.create_experiment("other").experiment_id
    tag = {"experiment_id": other, "key": "k", "value": "v"}
    writes = [
        ("experiments/set-experiment-tag", tag, "--experiment-name other"),
        ("experiments/update", {"experiment_id": other, "new_name": "x"}, "cannot rename"),
        ("experiments/delete", {"experiment_id": other}, "cannot delete"),
        ("experiments/restore", {"experiment_id": other}, "cannot restore"),
        ("experiments/update", {"experiment_id": "0", "new_name": "x"}, "cannot rename"),
        ("experiments/delete", {"experiment_id": "0"}, "cannot delete"),
    ]
    for path, body, said in writes:
        refused = call(session, "POST", path, body)
        assert (refused.status, (refused.body or {})["error_code"]) == (
            400, "INVALID_PARAMETER_VALUE"), path  # fmt: skip
        assert said in (refused.body or {})["message"]
    experiment = session.store.get_experiment(other)
    assert (experiment.name, experiment.tags, experiment.lifecycle_stage) == ("other", {}, "active")
    assert session.unknown == {}
    ok(call(session, "POST", "experiments/set-experiment-tag",
            {"experiment_id": "0", "key": "k", "value": "v"}))  # fmt: skip
    assert session.store.get_experiment("0").tags["k"] == "v"
    # A team server's session changes any experiment, as MLflow's server does.
    server = Session(session.store, "", "0")
    ok(call(server, "POST", "experiments/set-experiment-tag", tag))
    ok(call(server, "POST", "experiments/update", {"experiment_id": other, "new_name": "x"}))
    ok(call(server, "POST", "experiments/delete", {"experiment_id": other}))
    assert session.store.get_experiment(other).lifecycle_stage == "deleted"
    ok(call(server, "POST", "experiments/restore", {"experiment_id": other}))
    assert call(server, "POST", "experiments/delete", {"experiment_id": "0"}).status == 400


def _registry_tags(session: Session) -> dict[str, str]:
    tags = session.store.get_run(session.run_id).tags
    return {k.removeprefix("mlrun.mlflow.registry."): v for k, v in tags.items()
            if k.startswith("mlrun.mlflow.registry.")}  # fmt: skip


def test_latest_versions_are_one_per_stage(session: Session) -> None:
    ok(call(session, "POST", "registered-models/create", {"name": "wine"}))
    for n in (1, 2, 3):
        ok(call(session, "POST", "model-versions/create",
                {"name": "wine", "source": f"models:/m-{n}", "run_id": session.run_id}))  # fmt: skip
    ok(call(session, "POST", "model-versions/transition-stage",
            {"name": "wine", "version": "2", "stage": "Production"}))  # fmt: skip
    prod = ok(call(session, "POST", "registered-models/get-latest-versions",
                   {"name": "wine", "stages": ["production"]}))["model_versions"]  # fmt: skip
    assert [v["version"] for v in prod] == ["2"]
    every = ok(call(session, "POST", "registered-models/get-latest-versions", {"name": "wine"}))
    assert [(v["current_stage"], v["version"]) for v in every["model_versions"]] == [
        ("None", "3"), ("Production", "2")]  # fmt: skip
    model = ok(call(session, "GET", "registered-models/get", name="wine"))["registered_model"]
    assert [v["version"] for v in model["latest_versions"]] == ["3", "2"]
    staging = ok(call(session, "POST", "registered-models/get-latest-versions",
                      {"name": "wine", "stages": ["Staging"]}))  # fmt: skip
    assert staging["model_versions"] == []
    bad = call(session, "POST", "registered-models/get-latest-versions",
               {"name": "wine", "stages": ["Live"]})  # fmt: skip
    assert bad.status == 400


def test_registry_tags_follow_deletes_and_renames(session: Session) -> None:
    ok(call(session, "POST", "registered-models/create", {"name": "wine"}))
    for n in (1, 2):
        ok(call(session, "POST", "model-versions/create",
                {"name": "wine", "source": f"models:/m-{n}", "run_id": session.run_id}))  # fmt: skip
    ok(call(session, "POST", "registered-models/alias",
            {"name": "wine", "alias": "champion", "version": "1"}))  # fmt: skip
    ok(call(session, "POST", "registered-models/alias",
            {"name": "wine", "alias": "next", "version": "2"}))  # fmt: skip
    ok(call(session, "DELETE", "registered-models/alias", {"name": "wine", "alias": "next"}))
    assert "wine.alias.next" not in _registry_tags(session)
    ok(call(session, "POST", "model-versions/transition-stage",
            {"name": "wine", "version": "1", "stage": "Staging"}))  # fmt: skip
    ok(call(session, "POST", "registered-models/rename", {"name": "wine", "new_name": "red"}))
    assert _registry_tags(session) == {
        "red": "registered", "red.v1": "models:/m-1", "red.v2": "models:/m-2",
        "red.v1.stage": "Staging", "red.alias.champion": "1"}  # fmt: skip
    ok(call(session, "DELETE", "model-versions/delete", {"name": "red", "version": "1"}))
    assert _registry_tags(session) == {"red": "registered", "red.v2": "models:/m-2"}
    again = ok(call(session, "POST", "model-versions/create",
                    {"name": "red", "source": "models:/m-3", "run_id": session.run_id}))  # fmt: skip
    assert again["model_version"]["version"] == "3"  # a deleted number is not reused
    ok(call(session, "DELETE", "registered-models/delete", {"name": "red"}))
    assert _registry_tags(session) == {}


def test_a_model_logged_by_an_earlier_run_is_found_and_read_only(session: Session) -> None:
    earlier = session.store.create_run(
        RunCreate(experiment_id="0", name="earlier", entry_point="main", command="c",
                  code=CodeVersion("local", "/p", content_hash="h"))
    ).run_id  # fmt: skip
    first = Session(session.store, earlier, "0")
    info = ok(call(first, "POST", "logged-models",
                   {"experiment_id": "0", "name": "model", "source_run_id": earlier,
                    "params": [{"key": "alpha", "value": "0.5"}]}))["model"]["info"]  # fmt: skip
    model_id = info["model_id"]
    ok(call(first, "PUT", f"{ARTIFACTS_API}/{earlier}/models/model/MLmodel", b"flavors: {}\n"))
    ok(call(first, "PATCH", f"{API}/logged-models/{model_id}", {"status": "LOGGED_MODEL_READY"}))
    ok(call(first, "POST", "runs/outputs",
            {"run_id": earlier, "models": [{"model_id": model_id, "step": 0}]}))  # fmt: skip
    session.store.finish_run(earlier, "FINISHED", 0)
    # A later run (a new session, nothing in memory) finds it as MLflow's client does.
    got = ok(call(session, "GET", f"{API}/logged-models/{model_id}"))["model"]
    assert got["info"]["status"] == "LOGGED_MODEL_READY"
    assert got["info"]["artifact_uri"] == f"mlflow-artifacts:/{earlier}/models/model"
    assert got["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    # runs:/<run>/model: a search by name in the run's experiment, matched by source run.
    found = ok(call(session, "POST", "logged-models/search",
                    {"experiment_ids": ["0"], "filter": "name = 'model'"}))["models"]  # fmt: skip
    assert [(m["info"]["model_id"], m["info"]["source_run_id"]) for m in found] == [
        (model_id, earlier)]  # fmt: skip
    assert ok(call(session, "POST", "logged-models/search",
                   {"experiment_ids": ["0"], "filter": "name = 'other'"}))["models"] == []  # fmt: skip
    listing = ok(call(session, "GET", ARTIFACTS_API, path=f"{earlier}/models/model"))
    assert listing["files"] == [{"path": "MLmodel", "is_dir": False, "file_size": 12}]
    download = call(session, "GET", f"{ARTIFACTS_API}/{earlier}/models/model/MLmodel")
    assert download.file is not None
    assert download.file.read_bytes() == b"flavors: {}\n"
    run = ok(call(session, "GET", "runs/get", run_id=earlier))["run"]
    assert run["outputs"]["model_outputs"] == [{"model_id": model_id, "step": 0}]
    tags_before = session.store.get_run(earlier).tags
    for method, path, body in [
        ("PATCH", f"{API}/logged-models/{model_id}", {"status": "LOGGED_MODEL_UPLOAD_FAILED"}),
        ("PATCH", f"{API}/logged-models/{model_id}/tags", {"tags": [{"key": "k", "value": "v"}]}),
        (
            "POST",
            f"{API}/logged-models/{model_id}/params",
            {"params": [{"key": "a", "value": "1"}]},
        ),
    ]:
        refused = call(session, method, path, body)
        assert refused.status == 400, path
        assert "read-only here" in (refused.body or {})["message"]
    assert session.store.get_run(earlier).tags == tags_before
    assert call(session, "GET", f"{API}/logged-models/m-{earlier}-nope").status == 404
    assert call(session, "GET", f"{API}/logged-models/m-x").status == 404
