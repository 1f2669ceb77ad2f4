"""What a client (a write token, or a backend job's run-scoped token) may not do to remote runs:
give a run id that is a path, create its run with content other than the one it was minted
for (a real server over SQLite, then PostgreSQL)."""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING, Any

import pytest

from mlrun_cli.tracking.models import CodeVersion, RunCreate, check_run_id
from mlrun_cli.tracking.stores import wire
from tests.integration.test_server import add_user
from tests.server.process import running_server

if TYPE_CHECKING:
    from tests.server.backends import Backend
    from tests.server.process import ServerProcess


def _spec(experiment_id: str, run_id: str, **fields: Any) -> dict[str, Any]:
    return wire.run_create_to_json(RunCreate(
        experiment_id=experiment_id, name="r", entry_point="main", command="python x.py",
        code=CodeVersion("local", "/p", content_hash="h"), run_id=run_id, **fields,
    ))  # fmt: skip


def _raw(server: ServerProcess, method: str, path: str, token: str, body: bytes = b"") -> int:
    """One request with its path sent as written (``%2E%2E`` stays encoded: curl --path-as-is)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body, {"Authorization": f"Bearer {token}"})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\\b", "a\x00b", "x" * 65, "é"])
def test_a_run_id_that_could_be_a_path_is_refused(bad: str) -> None:
    from mlrun_cli.errors import UsageError

    with pytest.raises(UsageError, match="run id"):
        check_run_id(bad)


def test_run_ids_mlrun_mlflow_and_tests_give_are_kept() -> None:
    for good in ("0123456789abcdef" * 2, "r", "mlrun-x", "run_1", "A" * 64):
        assert check_run_id(good) == good


def test_no_run_id_a_client_gives_is_a_path(backend: Backend) -> None:
    token = add_user(backend, "ana", "write")
    with running_server(backend) as server:
        status, made = server.call("POST", "/api/v1/experiments", {"name": "e"}, token)
        assert status == 200, made
        experiment = made["experiment"]["experiment_id"]
        for bad in ("..", "a/b", "a\\b", ""):
            status, answer = server.call("POST", "/api/v1/runs", _spec(experiment, bad), token)
            assert status == 400, answer
            assert "run_id" in answer["error"]["message"]
        status, answer = server.call(
            "POST", "/api/v1/runs", _spec(experiment, "p" * 32, parent_run_id="../x"), token
        )
        assert status == 400, answer
        status, answer = server.call("POST", "/api/v1/tokens/run",
                                     {"run_id": "../../x", "experiment_id": experiment}, token)  # fmt: skip
        assert status == 400, answer
        assert _raw(server, "PUT", "/api/v1/runs/%2E%2E/artifacts/pwned.txt", token, b"x") == 400
        assert _raw(server, "PUT", "/api/v1/runs/a%2Fb/artifacts/pwned.txt", token, b"x") in (
            400, 404)  # fmt: skip
        assert _raw(server, "GET", "/api/v1/runs/%2E%2E/artifacts", token) == 400
        for endpoint in ("offset", "metrics?key=m"):
            assert _raw(server, "GET", f"/api/v1/runs/%2E%2E/{endpoint}", token) == 400
        status, answer = server.call("POST", "/api/v1/runs/%2E%2E/finish",
                                     {"status": "FAILED"}, token)  # fmt: skip
        assert status == 400, answer
    assert not list(backend.root.rglob("pwned.txt"))


def _spec_with(experiment: str, run_id: str, **changes: Any) -> dict[str, Any]:
    from mlrun_cli.tracking.models import Param

    spec = _spec(experiment, run_id, params=(Param("lr", "0.1"), Param("data", "d.csv", "path")),
                 parent_run_id="a" * 32, user="admin")  # fmt: skip
    spec["code"] = {**spec["code"], "kind": "git", "commit": "c" * 40}
    return {**spec, **changes}


def test_a_run_token_creates_only_the_run_it_was_minted_for_as_its_user(
    backend: Backend,
) -> None:
    token = add_user(backend, "ana", "write")
    with running_server(backend) as server:
        experiment = server.call("POST", "/api/v1/experiments", {"name": "e"}, token)[1]
        experiment = experiment["experiment"]["experiment_id"]
        run_id = "r" * 32
        pin = {"entry_point": "main", "parent_run_id": "a" * 32, "commit": "c" * 40,
               "params": {"lr": "0.1", "data": "/home/ana/d.csv"}}  # fmt: skip
        status, made = server.call("POST", "/api/v1/tokens/run",
                                   {"run_id": run_id, "experiment_id": experiment, "pin": pin},
                                   token)  # fmt: skip
        assert status == 200, made
        run_token = made["token"]
        forged = _spec_with(experiment, run_id)
        forged_params = [{"key": "lr", "value": "9", "type": None},
                         {"key": "data", "value": "d.csv", "type": "path"}]  # fmt: skip
        for changes, what in (
            ({"params": forged_params}, "parameter 'lr'"),
            ({"params": forged_params[1:]}, "parameter 'lr'"),
            ({"entry_point": "other"}, "entry point"),
            ({"parent_run_id": "b" * 32}, "parent run"),
            ({"code": {**forged["code"], "commit": "d" * 40}}, "commit"),
        ):
            status, answer = server.call(
                "POST", "/api/v1/runs", _spec_with(experiment, run_id, **changes), run_token
            )
            assert status == 403, answer
            assert what in answer["error"]["message"]
        status, answer = server.call("POST", "/api/v1/runs", forged, run_token)
        assert status == 200, answer
        assert answer["run"]["user"] == "ana"  # not the "admin" it claimed
        status, answer = server.call("POST", "/api/v1/runs", _spec(experiment, "u" * 32,
                                                                    user="root"), token)  # fmt: skip
        assert status == 200, answer
        assert answer["run"]["user"] == "ana"
        status, answer = server.call("POST", "/api/v1/tokens/run",
                                     {"run_id": "s" * 32, "experiment_id": experiment,
                                      "pin": {"params": {"lr": 1}}}, token)  # fmt: skip
        assert status == 400, answer


def test_a_finished_run_whose_job_failed_is_never_reused(backend: Backend) -> None:
    token = add_user(backend, "ana", "write")
    with running_server(backend) as server:
        experiment = server.call("POST", "/api/v1/experiments", {"name": "e"}, token)[1]
        experiment = experiment["experiment"]["experiment_id"]
        query = {"experiment_id": experiment, "fingerprint": "fp2:x"}
        for run_id in ("a" * 32, "b" * 32):
            spec = _spec(experiment, run_id, fingerprint="fp2:x")
            assert server.call("POST", "/api/v1/runs", spec, token)[0] == 200
            finished = server.call("POST", f"/api/v1/runs/{run_id}/finish",
                                   {"status": "FINISHED", "exit_code": 0}, token)  # fmt: skip
            assert finished[0] == 200
        found = server.call("POST", "/api/v1/runs/find-finished", query, token)[1]["run"]
        assert found is not None
        tagged = server.call("POST", f"/api/v1/runs/{found['run_id']}/events",
                             {"tags": [["mlrun.backend.ended", "ended by someone else"]]}, token)  # fmt: skip
        assert tagged[0] == 200, tagged
        again = server.call("POST", "/api/v1/runs/find-finished", query, token)[1]["run"]
        assert again is None or again["run_id"] != found["run_id"]


def test_a_run_token_is_told_what_it_reaches_and_never_learns_another_runs_id(
    backend: Backend,
) -> None:
    token = add_user(backend, "alice", "write")
    with running_server(backend) as server:
        experiment = server.call("POST", "/api/v1/experiments", {"name": "e"}, token)[1]
        experiment = experiment["experiment"]["experiment_id"]
        other = "0abc" + "1" * 28
        assert server.call("POST", "/api/v1/runs", _spec(experiment, other), token)[0] == 200
        mine = server.call("POST", "/api/v1/tokens/run",
                           {"run_id": "f" * 32, "experiment_id": experiment}, token)[1]  # fmt: skip
        status, answer = server.call("GET", "/api/v1/runs/0abc", token=mine["token"])
        assert status == 403, answer
        message = answer["error"]["message"]
        assert "a run-scoped token reaches its own run only" in message
        assert other not in message
        status, answer = server.call("GET", f"/api/v1/runs/{other}/artifacts", token=mine["token"])
        assert status == 403, answer
        assert "a run-scoped token reaches its own run only" in answer["error"]["message"]
        expired = server.call("POST", "/api/v1/tokens/run",
                              {"run_id": "e" * 32, "experiment_id": experiment,
                               "ttl_seconds": 0.001}, token)[1]  # fmt: skip
        status, answer = server.call("GET", f"/api/v1/runs/{'e' * 32}", token=expired["token"])
        assert status == 401, answer
        assert "run-scoped token expired" in answer["error"]["message"]
