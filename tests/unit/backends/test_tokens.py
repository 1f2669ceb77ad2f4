"""The run token a backend job carries: asked from a team server only, with the config's TTL."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun_cli.backends.base import get_backend
from mlrun_cli.backends.tokens import run_token, ttl_of
from mlrun_cli.errors import UsageError
from mlrun_cli.tracking.store import StoreLocation


class Server:
    """A stand-in for the REST store's one call (what the submitter asks the server)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, dict[str, object]]] = []

    def call(self, method: str, path: str, body: dict[str, object]) -> dict[str, object]:
        self.asked.append((method, path, body))
        return {"token": "mlrr_x", "expires_at": 1}


def test_a_token_is_minted_for_a_team_server_with_a_user_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = Server()
    remote = StoreLocation(tmp_path / "db", tmp_path / "a", "", remote="http://srv:5000")
    monkeypatch.delenv("MLRUN_TRACKING_TOKEN", raising=False)
    assert run_token(server, remote, "r", "1") is None  # type: ignore[arg-type]
    monkeypatch.setenv("MLRUN_TRACKING_TOKEN", "mlrt_user")
    local = StoreLocation(tmp_path / "db", tmp_path / "a", "")
    assert run_token(server, local, "r", "1") is None  # type: ignore[arg-type]
    assert run_token(server, remote, "r", "1", 60) == "mlrr_x"  # type: ignore[arg-type]
    assert server.asked == [
        ("POST", "/tokens/run", {"run_id": "r", "experiment_id": "1", "ttl_seconds": 60})
    ]


def test_token_ttl_is_checked_with_the_config() -> None:
    assert ttl_of({}) is None
    assert ttl_of({"token_ttl": "3600"}) == 3600
    for bad in (0, -1, "soon", 99999999):
        with pytest.raises(UsageError, match="token_ttl"):
            get_backend("slurm", {"token_ttl": bad})
    with pytest.raises(UsageError, match="unknown ray setting 'callback_host'"):
        get_backend("ray", {"callback_host": "h"})


def test_an_expired_run_token_is_told_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlrun_cli.tracking.stores.rest import RestStore

    monkeypatch.setenv("MLRUN_TRACKING_TOKEN", "mlrr_x")
    store = RestStore("http://127.0.0.1:9")
    error = store._error(401, {"error": {"message": "run-scoped token expired or unknown"}})
    assert "token_ttl" in str(getattr(error, "hint", ""))
    monkeypatch.setenv("MLRUN_TRACKING_TOKEN", "mlrt_x")
    error = RestStore("http://127.0.0.1:9")._error(401, {})
    assert "mlrun server tokens create" in str(getattr(error, "hint", ""))
