"""The loopback server: real sockets, keep-alive, uploads in every framing, clean shutdown."""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.envs.base import Env
from mlrun_cli.envs.lock import EnvLock
from mlrun_cli.mlflow_compat import env_has_mlflow, serve_mlflow
from mlrun_cli.mlflow_compat.loopback import STREAM_UPLOADS_OVER, LoopbackEndpoint
from mlrun_cli.mlflow_compat.protocol import API, ARTIFACTS_API
from mlrun_cli.mlflow_compat.session import Session
from mlrun_cli.tracking.models import CodeVersion, RunCreate
from mlrun_cli.tracking.store import open_store

if TYPE_CHECKING:
    from collections.abc import Iterator


def _env(*packages: str) -> Env:
    lock = EnvLock("3.11.7", "cpython", "linux-x86_64", tuple((p, "1.0") for p in packages))
    return Env("uv", Path("/x/python"), Path("/x"), "3.11.7", lock)


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[LoopbackEndpoint]:
    store = open_store(str(tmp_path / "store"))
    run = store.create_run(
        RunCreate(experiment_id="0", name="r", entry_point="main", command="c",
                  code=CodeVersion("local", "/p", content_hash="h"))
    )  # fmt: skip
    served = LoopbackEndpoint(Session(open_store(str(tmp_path / "store")), run.run_id, "0"))
    yield served
    served.close()


class _Authorized(http.client.HTTPConnection):
    """A connection that sends the endpoint's token, as MLflow's client does."""

    token = ""

    def putrequest(self, method: str, url: str, *args: bool, **kwargs: bool) -> None:
        super().putrequest(method, url, *args, **kwargs)
        self.putheader("Authorization", f"Bearer {self.token}")


def _connect(endpoint: LoopbackEndpoint, bearer: str | None = None) -> http.client.HTTPConnection:
    host, port = endpoint.uri.removeprefix("http://").split(":")
    conn = _Authorized(host, int(port), timeout=30)
    conn.token = endpoint.token if bearer is None else bearer
    return conn


def test_requests_without_the_token_are_refused(endpoint: LoopbackEndpoint) -> None:
    conn = _connect(endpoint, bearer="guess")
    conn.request("GET", f"{API}/experiments/get?experiment_id=0")
    response = conn.getresponse()
    assert response.status == 401
    assert json.loads(response.read())["error_code"] == "UNAUTHENTICATED"
    conn.close()
    child: dict[str, str] = {"MLFLOW_TRACKING_USERNAME": "u", "MLFLOW_TRACKING_PASSWORD": "p"}
    endpoint.child_environment(child)
    assert child["MLFLOW_TRACKING_TOKEN"] == endpoint.token
    assert "MLFLOW_TRACKING_USERNAME" not in child
    assert "MLFLOW_TRACKING_PASSWORD" not in child


def _get(conn: http.client.HTTPConnection, url: str) -> bytes:
    conn.request("GET", url)
    return conn.getresponse().read()


def test_decided_from_the_lock() -> None:
    assert env_has_mlflow(_env("mlflow-skinny", "numpy"))
    assert env_has_mlflow(_env("mlflow"))
    assert not env_has_mlflow(_env("mlflow-tracing", "numpy"))
    assert not env_has_mlflow(Env("local", Path("/x/python"), Path("/x"), "3.11.7"))


def test_no_endpoint_without_mlflow(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    run = store.create_run(
        RunCreate(experiment_id="0", name="r", entry_point="main", command="c",
                  code=CodeVersion("local", "/p", content_hash="h"))
    )  # fmt: skip
    assert serve_mlflow(store, run, _env("numpy")) is None
    served = serve_mlflow(store, run, _env("mlflow-skinny"))
    assert served is not None
    child: dict[str, str] = {"MLFLOW_EXPERIMENT_NAME": "elsewhere"}
    served.child_environment(child)
    assert child["MLFLOW_TRACKING_URI"] == served.uri
    assert child["MLFLOW_RUN_ID"] == run.run_id
    assert child["MLFLOW_EXPERIMENT_ID"] == "0"
    assert "MLFLOW_EXPERIMENT_NAME" not in child
    assert served.close() == []


def test_keep_alive_and_json(endpoint: LoopbackEndpoint) -> None:
    conn = _connect(endpoint)
    run_id = endpoint.session.run_id
    for step in range(3):
        body = json.dumps({"run_id": run_id, "key": "m", "value": step, "step": step})
        conn.request("POST", f"{API}/runs/log-metric", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {})
    conn.request("GET", f"{API}/runs/get?run_id={run_id}")
    response = conn.getresponse()
    run = json.loads(response.read())["run"]
    assert run["data"]["metrics"][0]["value"] == 2
    conn.request("GET", f"{API}/nothing/here")
    missing = conn.getresponse()
    assert missing.status == 404
    assert json.loads(missing.read())["error_code"] == "ENDPOINT_NOT_FOUND"
    conn.close()


def test_uploads_plain_chunked_and_streamed(endpoint: LoopbackEndpoint) -> None:
    run_id = endpoint.session.run_id
    conn = _connect(endpoint)
    conn.request("PUT", f"{ARTIFACTS_API}/{run_id}/small.txt", b"hello")
    assert conn.getresponse().read() == b"{}"
    conn.request("PUT", f"{ARTIFACTS_API}/{run_id}/chunked.txt", iter([b"ab", b"cd"]),
                 encode_chunked=True)  # fmt: skip
    assert conn.getresponse().read() == b"{}"
    big = b"x" * (STREAM_UPLOADS_OVER + 12345)
    conn.request("PUT", f"{ARTIFACTS_API}/{run_id}/dir/big.bin", big)
    assert conn.getresponse().read() == b"{}"
    conn.request("GET", f"{ARTIFACTS_API}/{run_id}/dir/big.bin")
    response = conn.getresponse()
    assert response.getheader("Content-Type") == "application/octet-stream"
    assert response.read() == big
    conn.close()
    folder = endpoint.session.store.location.staging_dir(run_id)
    assert (folder / "chunked.txt").read_bytes() == b"abcd"
    sizes = {a.path: a.size for a in endpoint.session.store.get_run(run_id).artifacts}
    assert sizes == {"small.txt": 5, "chunked.txt": 4, "dir/big.bin": len(big)}
    assert not list((folder / "_mlrun" / ".partial").iterdir())  # no partial left behind


def test_garbage_closes_only_that_connection(endpoint: LoopbackEndpoint) -> None:
    host, port = endpoint.uri.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(b"NONSENSE\r\n\r\n")
        assert raw.recv(100) == b""
    conn = _connect(endpoint)
    conn.request("GET", f"{API}/experiments/get?experiment_id=0")
    assert conn.getresponse().status == 200
    conn.close()


def test_close_ends_idle_keep_alive_connections(endpoint: LoopbackEndpoint) -> None:
    conn = _connect(endpoint)
    conn.request("GET", f"{API}/experiments/get?experiment_id=0")
    conn.getresponse().read()
    assert endpoint.close() == []
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        _get(conn, f"{API}/experiments/get?experiment_id=0")


def test_a_streamed_upload_does_not_hold_up_other_requests(endpoint: LoopbackEndpoint) -> None:
    """The body streams without the session's lock: metrics logged while half of it is still
    on its way are recorded first; the file is recorded once it is whole, never before."""
    run_id = endpoint.session.run_id
    half = STREAM_UPLOADS_OVER
    body = bytes(range(256)) * ((2 * half) // 256)
    host, port = endpoint.uri.removeprefix("http://").split(":")
    release, answers = threading.Event(), []

    def upload() -> None:
        with socket.create_connection((host, int(port)), timeout=60) as raw:
            raw.sendall(
                f"PUT {ARTIFACTS_API}/{run_id}/big/weights.bin HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {endpoint.token}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + body[:half]
            )
            release.wait(60)
            raw.sendall(body[half:])
            answers.append(raw.makefile("rb").read())

    sender = threading.Thread(target=upload)
    sender.start()
    try:
        folder = endpoint.session.store.location.staging_dir(run_id) / "big"
        partials = folder.parent / "_mlrun" / ".partial"
        conn = _connect(endpoint)
        # Wait (a condition, not a time) until the upload streams into its temporary file.
        for _ in range(6000):
            if partials.is_dir() and list(partials.iterdir()):
                break
            time.sleep(0.01)
        else:
            pytest.fail("the upload never started streaming")
        for step in range(5):
            point = json.dumps({"run_id": run_id, "key": "loss", "value": step, "step": step})
            conn.request("POST", f"{API}/runs/log-metric", point)
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"{}")
        conn.request("GET", f"{API}/metrics/get-history?run_id={run_id}&metric_key=loss")
        history = json.loads(conn.getresponse().read())["metrics"]
        assert [m["step"] for m in history] == [0, 1, 2, 3, 4]
        assert answers == []  # the upload is still waiting for its second half
        assert endpoint.session.store.get_run(run_id).artifacts == ()
        assert not (folder / "weights.bin").exists()
        conn.close()
    finally:
        release.set()
        sender.join(60)
    (answer,) = answers
    assert answer.startswith(b"HTTP/1.1 200 ")
    (artifact,) = endpoint.session.store.get_run(run_id).artifacts
    assert (artifact.path, artifact.size) == ("big/weights.bin", len(body))
    assert artifact.sha256 == hashlib.sha256(body).hexdigest()
    assert (folder / "weights.bin").read_bytes() == body
    assert [p.name for p in folder.iterdir()] == ["weights.bin"]
    assert not list(partials.iterdir())


def _raw_exchange(endpoint: LoopbackEndpoint, head: str, body: bytes) -> bytes:
    host, port = endpoint.uri.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(head.encode() + body)
        raw.shutdown(socket.SHUT_WR)
        return raw.makefile("rb").read()


def test_a_truncated_upload_is_never_recorded(endpoint: LoopbackEndpoint) -> None:
    run_id = endpoint.session.run_id
    auth = f"Authorization: Bearer {endpoint.token}\r\n"
    plain = f"PUT {ARTIFACTS_API}/{run_id}/cut.txt HTTP/1.1\r\n{auth}Content-Length: 1000\r\n\r\n"
    assert _raw_exchange(endpoint, plain, b"0123456789") == b""
    chunked = (f"PUT {ARTIFACTS_API}/{run_id}/cut2.txt HTTP/1.1\r\n{auth}"
               "Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    assert _raw_exchange(endpoint, chunked, b"3e8\r\n0123456789") == b""
    assert _raw_exchange(endpoint, chunked, b"a\r\n0123456789\r\n") == b""  # no last chunk
    assert endpoint.session.store.get_run(run_id).artifacts == ()
    folder = endpoint.session.store.location.staging_dir(run_id)
    assert not folder.exists() or not list(folder.rglob("cut*"))


def test_a_negative_content_length_is_a_400_without_a_traceback(
    endpoint: LoopbackEndpoint, capfd: pytest.CaptureFixture[str]
) -> None:
    run_id = endpoint.session.run_id
    auth = f"Authorization: Bearer {endpoint.token}\r\n"
    for length in ("-5", "x"):
        head = (
            f"PUT {ARTIFACTS_API}/{run_id}/n.txt HTTP/1.1\r\n{auth}Content-Length: {length}\r\n\r\n"
        )
        answer = _raw_exchange(endpoint, head, b"abc")
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error_code"] == "BAD_REQUEST"
    chunked = (f"PUT {ARTIFACTS_API}/{run_id}/n.txt HTTP/1.1\r\n{auth}"
               "Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    assert _raw_exchange(endpoint, chunked, b"-5\r\nabc\r\n0\r\n\r\n") == b""
    conn = _connect(endpoint)  # the endpoint still serves
    conn.request("GET", f"{API}/experiments/get?experiment_id=0")
    assert conn.getresponse().status == 200
    conn.close()
    assert "Traceback" not in capfd.readouterr().err
    assert endpoint.session.store.get_run(run_id).artifacts == ()
