"""``mlrun server`` as a real subprocess on a loopback port, over a real SQLite store and a
real PostgreSQL database (the same tests, once per backend)."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO, run_mlrun
from tests.server.process import ServerProcess, free_port, running_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.server.backends import Backend

pytestmark = pytest.mark.integration

API = "/api/2.0/mlflow"


def add_user(store: Backend, name: str, role: str, experiment: str = "*") -> str:
    """A user with a role, and a fresh token for them (through the CLI, as an admin would)."""
    uri = store.uri
    added = run_mlrun("server", "--backend-store-uri", uri, "users", "add", name,
                      "--role", role, "--experiment-id", experiment)  # fmt: skip
    assert added.returncode == 0, added.stderr
    made = run_mlrun("server", "--backend-store-uri", uri, "tokens", "create", name)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@pytest.fixture
def db(isolated: Path) -> Path:
    return isolated / "srv" / "mlrun.db"


@pytest.fixture
def open_server(backend: Backend) -> Iterator[ServerProcess]:
    with running_server(backend, "--no-auth") as server:
        yield server


def test_health_version_and_openapi(open_server: ServerProcess) -> None:
    assert open_server.call("GET", "/health") == (200, "OK")
    status, version = open_server.call("GET", "/version")
    assert status == 200
    assert version
    status, document = open_server.call("GET", "/api/v1/openapi.json")
    assert status == 200
    assert "/api/v1/runs/{run_id}/events" in document["paths"]
    kept = json.loads((REPO / "docs" / "openapi-v1.json").read_text())
    assert kept == document, "regenerate docs/openapi-v1.json (see README, Team server)"


def test_no_auth_is_refused_off_loopback(db: Path) -> None:
    result = run_mlrun("server", "--backend-store-uri", f"sqlite:///{db}", "--host", "0.0.0.0",  # noqa: S104
                       "--no-auth")  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: --no-auth with --host 0.0.0.0")
    assert not db.exists()


def test_bad_backend_store_is_one_error_line(isolated: Path) -> None:
    result = run_mlrun("server", "--backend-store-uri", "mysql://x/y", "--no-auth")
    assert result.returncode != 0
    assert result.stderr.startswith("error: --backend-store-uri 'mysql://x/y'")
    assert "Traceback" not in result.stderr


def test_mlflow_rest_without_mlrun_records_a_top_level_run(open_server: ServerProcess) -> None:
    status, created = open_server.call(
        "POST", f"{API}/runs/create", {"experiment_id": "0", "start_time": 1, "tags": []}
    )
    assert status == 200, created
    run_id = created["run"]["info"]["run_id"]
    point = {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 7, "step": 1}
    for _ in range(2):  # a retried POST
        assert open_server.call("POST", f"{API}/runs/log-metric", point)[0] == 200
    status, got = open_server.call("GET", f"{API}/runs/get?run_id={run_id}")
    assert got["run"]["data"]["metrics"] == [{"key": "loss", "value": 0.5, "timestamp": 7,
                                             "step": 1}]  # fmt: skip
    status, history = open_server.call("GET", f"/ajax-api/2.0/mlflow/metrics/get-history"
                                       f"?run_id={run_id}&metric_key=loss")  # fmt: skip
    assert status == 200
    assert len(history["metrics"]) == 1
    status, ours = open_server.call("GET", f"/api/v1/runs/{run_id}")
    assert status == 200
    assert ours["run"]["parent_run_id"] is None
    assert ours["run"]["metrics"]["loss"] == [0.5, 1, 7]


def test_batched_events_are_idempotent_by_offset(open_server: ServerProcess) -> None:
    _, created = open_server.call("POST", f"{API}/runs/create", {"experiment_id": "0"})
    run_id = created["run"]["info"]["run_id"]
    batch = {"range": [0, 100], "metrics": [["m", i, i, i] for i in range(500)]}
    for _ in range(3):
        status, answer = open_server.call("POST", f"/api/v1/runs/{run_id}/events", batch)
        assert status == 200, answer
        assert answer["offset"] == 100
    _, history = open_server.call("GET", f"/api/v1/runs/{run_id}/metrics?key=m")
    assert len(history["metrics"]) == 500


def test_a_run_recorded_by_mlrun_is_read_through_the_server(
    isolated: Path,
    backend: Backend,
) -> None:
    project = isolated / "proj"
    project.mkdir()
    (project / "MLproject").write_text(
        "name: p\nentry_points:\n  main:\n    command: python t.py\n"
    )
    (project / "t.py").write_text("import mlrun_cli as m\nm.log_metric('acc', 0.9)\n")
    result = run_mlrun("run", str(project), "--env-manager", "local",
                       "--tracking-uri", backend.uri)  # fmt: skip
    assert result.returncode == 0, result.stderr
    with running_server(backend, "--no-auth") as server:
        status, found = server.call(
            "POST", f"{API}/runs/search", {"experiment_ids": ["0"], "filter": "metrics.acc > 0.5"}
        )
        assert status == 200, found
        assert len(found["runs"]) == 1
        status, ours = server.call("POST", "/api/v1/runs/search", {"filter": "metrics.acc > 0.5"})
        assert [r["metrics"]["acc"][0] for r in ours["runs"]] == [0.9]


def test_auth_matrix(backend: Backend) -> None:
    admin = add_user(backend, "root", "admin")
    with running_server(backend) as server:
        _, made = server.call("POST", f"{API}/experiments/create", {"name": "a"}, token=admin)
        a = made["experiment_id"]
        _, made = server.call("POST", f"{API}/experiments/create", {"name": "b"}, token=admin)
        b = made["experiment_id"]
        reader = add_user(backend, "rita", "read", a)
        a_admin = add_user(backend, "adam", "admin", a)
        _, run = server.call("POST", f"{API}/runs/create", {"experiment_id": b}, token=admin)
        b_run = run["run"]["info"]["run_id"]
        point = {"run_id": b_run, "key": "x", "value": 1, "timestamp": 1, "step": 0}
        assert server.call("GET", "/health")[0] == 200  # health needs no token
        assert server.call("POST", f"{API}/runs/log-metric", point)[0] == 401
        wrong = "mlrt_" + "wrong"
        assert server.call("POST", f"{API}/runs/log-metric", point, token=wrong)[0] == 401
        assert server.call("GET", f"/api/v1/runs/{b_run}")[0] == 401
        assert server.call("GET", f"/api/v1/runs/{b_run}", token=admin + "x")[0] == 401
        # A read-only user can read their experiment but not write to it.
        status, answer = server.call("POST", f"{API}/runs/create", {"experiment_id": a},
                                     token=reader)  # fmt: skip
        assert (status, answer["error_code"]) == (403, "PERMISSION_DENIED")
        assert server.call("POST", f"{API}/runs/search", {"experiment_ids": [a]},
                           token=reader)[0] == 200  # fmt: skip
        # Another experiment's admin can neither write nor read experiment b.
        assert server.call("POST", f"{API}/runs/log-metric", point, token=a_admin)[0] == 403
        assert server.call("GET", f"/api/v1/runs/{b_run}", token=a_admin)[0] == 403
        assert server.call("POST", f"/api/v1/runs/{b_run}/events", {"metrics": []},
                           token=reader)[0] == 403  # fmt: skip
        tag = {"experiment_id": a, "key": "owner", "value": "adam"}
        path = f"{API}/experiments/set-experiment-tag"
        assert server.call("POST", path, tag, token=reader)[0] == 403
        assert server.call("POST", path, tag, token=a_admin)[0] == 200
        assert server.call("POST", f"/api/v1/experiments/{a}/update", {"name": "a2"},
                           token=reader)[0] == 403  # fmt: skip
        status, runs = server.call("POST", "/api/v1/runs/search", {}, token=a_admin)
        assert (status, runs["runs"]) == (200, [])
        # MLflow's basic auth: the token as password.
        basic = base64.b64encode(f"root:{admin}".encode()).decode()
        assert server.call("POST", f"{API}/runs/log-metric", point,
                           headers={"Authorization": f"Basic {basic}"})[0] == 200  # fmt: skip
        log_text = (server.log or Path()).read_text()
    for token in (admin, reader, a_admin):
        assert token not in log_text
        assert token not in backend.dump()


def test_revoked_tokens_and_removed_users_are_refused_at_once(backend: Backend) -> None:
    admin = add_user(backend, "root", "admin")
    first = add_user(backend, "vera", "write")
    second = run_mlrun("server", "--backend-store-uri", backend.uri, "tokens", "create", "vera")
    second_token = second.stdout.strip()
    uri = ("server", "--backend-store-uri", backend.uri)
    with running_server(backend) as server:

        def mint(token: str, run_id: str) -> str:
            status, answer = server.call(
                "POST", "/api/v1/tokens/run", {"run_id": run_id, "experiment_id": "0"}, token=token
            )
            assert status == 200, answer
            return str(answer["token"])  # fmt: skip

        by_first, by_second = mint(first, "a" * 32), mint(second_token, "b" * 32)
        listed = run_mlrun(*uri, "tokens", "list", "vera")
        assert listed.returncode == 0, listed.stderr
        rows = [line.split() for line in listed.stdout.splitlines()[1:]]
        assert [row[1] for row in rows] == ["vera"] * 4
        assert sorted(row[4] for row in rows if len(row) > 4) == ["a" * 8, "b" * 8]
        assert max(len(line) for line in listed.stdout.splitlines()) <= 80
        for token in (first, second_token, by_first, by_second):
            assert token not in listed.stdout  # ids, never the tokens
        assert server.call("GET", "/api/v1/experiments/0", token=first)[0] == 200
        # Revoking a token revokes the run tokens it minted, not the others.
        revoked = run_mlrun(*uri, "tokens", "revoke", first)
        assert revoked.returncode == 0, revoked.stderr
        assert "with the 1 run token(s) it minted" in revoked.stderr
        for gone in (first, by_first):
            assert server.call("GET", "/api/v1/experiments/0", token=gone)[0] == 401
        for alive in (second_token, by_second):
            assert server.call("GET", "/api/v1/experiments/0", token=alive)[0] == 200
        for bad in ("0" * 8, second_token[5:], "zz"):  # no token, one without its prefix
            refused = run_mlrun(*uri, "tokens", "revoke", bad)
            assert (refused.returncode, refused.stderr.count("error:")) == (2, 1)
            assert second_token[5:17] not in refused.stderr  # never echoed
        assert run_mlrun(*uri, "tokens", "list", "nobody").returncode == 2
        removed = run_mlrun(*uri, "users", "remove", "vera")
        assert removed.returncode == 0, removed.stderr
        assert "with 2 token(s)" in removed.stderr  # the second and its run token
        for gone in (second_token, by_second):
            assert server.call("GET", "/api/v1/experiments/0", token=gone)[0] == 401
        assert server.call("GET", "/api/v1/experiments/0", token=admin)[0] == 200
        assert "vera" not in run_mlrun(*uri, "users", "list").stdout
        root_id = run_mlrun(*uri, "tokens", "list").stdout.splitlines()[1].split()[0]
        by_id = run_mlrun(*uri, "tokens", "revoke", root_id.upper())  # ids in any case
        assert by_id.returncode == 0, by_id.stderr
        assert server.call("GET", "/api/v1/experiments/0", token=admin)[0] == 401


def test_acknowledged_writes_survive_kill_9(backend: Backend) -> None:
    port = free_port()
    server = ServerProcess(backend, port, ("--no-auth",)).start()
    _, created = server.call("POST", f"{API}/runs/create", {"experiment_id": "0"})
    run_id = created["run"]["info"]["run_id"]
    for i in range(50):
        batch = {"range": [i, i + 1], "metrics": [["m", i, i, i]]}
        assert server.call("POST", f"/api/v1/runs/{run_id}/events", batch)[0] == 200
    server.kill()
    server = ServerProcess(backend, port, ("--no-auth",)).start()
    try:
        _, history = server.call("GET", f"/api/v1/runs/{run_id}/metrics?key=m")
        assert [p[1] for p in history["metrics"]] == list(range(50))
        _, offset = server.call("GET", f"/api/v1/runs/{run_id}/offset")
        assert offset["offset"] == 50
    finally:
        server.stop()


def test_a_run_whose_runner_went_silent_is_failed_by_heartbeat_timeout(
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlrun_cli.tracking.models import CodeVersion, RunCreate
    from mlrun_cli.tracking.stores import wire

    monkeypatch.setenv("MLRUN_SERVER_HEARTBEAT_TIMEOUT", "1")
    with running_server(backend, "--no-auth") as server:
        spec = RunCreate(experiment_id="0", name="far", entry_point="main", command="python t",
                         code=CodeVersion("local", "/p"), host="another-host", pid=1)  # fmt: skip
        status, _ = server.call("POST", "/api/v1/runs", wire.run_create_to_json(spec))
        assert status == 200
        external = server.call("POST", f"{API}/runs/create", {"experiment_id": "0"})[1]
        external_id = external["run"]["info"]["run_id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = server.call("GET", f"/api/v1/runs/{spec.run_id}")[1]["run"]
            if run["status"] != "RUNNING":
                break
            time.sleep(0.2)
        assert run["status"] == "FAILED"
        assert "no heartbeat from its runner on another-host" in run["status_reason"]
        # A run MLflow code created directly has no runner: MLflow's client ends it.
        assert server.call("GET", f"/api/v1/runs/{external_id}")[1]["run"]["status"] == "RUNNING"


def test_a_silent_run_with_a_live_runner_is_not_failed_by_heartbeat_timeout(
    isolated: Path,
    backend: Backend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A child that logs nothing for longer than the server's timeout: its runner is alive
    and says so (the server would otherwise fail the run as if its host had died)."""
    project = isolated / "quiet"
    project.mkdir()
    (project / "MLproject").write_text(
        "name: q\nentry_points:\n  main:\n    command: python -c 'import time; time.sleep(5)'\n"
    )
    monkeypatch.setenv("MLRUN_SERVER_HEARTBEAT_TIMEOUT", "2")
    monkeypatch.setenv("MLRUN_TRACKING_HEARTBEAT_SECONDS", "0.3")
    with running_server(backend, "--no-auth") as server:
        result = run_mlrun("run", str(project), "--env-manager", "local", "--json",
                           "--tracking-uri", server.url)  # fmt: skip
        assert result.returncode == 0, result.stderr
        run_id = json.loads(result.stdout)["run_id"]
        run = server.call("GET", f"/api/v1/runs/{run_id}")[1]["run"]
        assert (run["status"], run["status_reason"]) == ("FINISHED", None)


def test_a_port_in_use_is_one_error_line(
    open_server: ServerProcess,
    backend: Backend,
) -> None:
    result = run_mlrun("server", *backend.server_args(("--port", str(open_server.port),
                                                       "--no-auth")))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: --host 127.0.0.1 --port {open_server.port}: ")
    assert len(result.stderr.splitlines()) == 1


def test_the_web_ui_is_served_under_ui(open_server: ServerProcess) -> None:
    status, page = open_server.call("GET", "/ui/")
    assert status == 200
    assert "<html" in str(page).lower()


def test_the_web_ui_needs_a_token_that_reads_every_experiment(backend: Backend) -> None:
    with running_server(backend) as server:
        reader = add_user(backend, "ann", "read")
        narrow = add_user(backend, "bob", "read", experiment="0")
        assert server.call("GET", "/ui/")[0] == 401
        assert server.call("GET", "/ui/", token=narrow)[0] == 401
        basic = base64.b64encode(f"ann:{reader}".encode()).decode()
        assert server.call("GET", "/ui/", headers={"Authorization": f"Basic {basic}"})[0] == 200
