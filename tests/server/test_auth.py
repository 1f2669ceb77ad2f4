"""Users, roles and tokens (the auth tables of a real SQLite store)."""

from __future__ import annotations

import base64
import sqlite3
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.server.auth import AuthStore, User, hash_token, token_from_header
from mlrun_cli.tracking.store import open_store

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def auth(tmp_path: Path) -> AuthStore:
    open_store(str(tmp_path / "s")).close()
    return AuthStore(tmp_path / "s" / "mlrun.db")


def test_token_is_stored_only_as_its_hash(auth: AuthStore, tmp_path: Path) -> None:
    auth.add_user("ana", "write", "1")
    token = auth.create_token("ana")
    dump = "\n".join(sqlite3.connect(tmp_path / "s" / "mlrun.db").iterdump())
    assert token not in dump
    assert hash_token(token) in dump
    user = auth.authenticate(token)
    assert user == User("ana", (("1", "write"),))


def test_wrong_missing_and_unknown_tokens_are_nobody(auth: AuthStore) -> None:
    auth.add_user("ana", "read")
    token = auth.create_token("ana")
    assert auth.authenticate(None) is None
    assert auth.authenticate("") is None
    assert auth.authenticate(token + "x") is None


def test_roles_per_experiment_and_every_experiment() -> None:
    user = User("ana", (("1", "admin"), ("*", "read")))
    assert user.may("admin", "1")
    assert user.may("read", "2")
    assert not user.may("write", "2")
    assert not user.may("write", None)


def test_bad_names_roles_and_unknown_users(auth: AuthStore) -> None:
    with pytest.raises(UsageError, match="--role"):
        auth.add_user("ana", "owner")
    with pytest.raises(UsageError, match="user name"):
        auth.add_user("a b", "read")
    with pytest.raises(NotFoundError, match="no user"):
        auth.create_token("nobody")


def test_token_from_bearer_and_basic_headers() -> None:
    basic = base64.b64encode(b"ana:secret").decode()
    assert token_from_header("Bearer secret") == "secret"
    assert token_from_header(f"Basic {basic}") == "secret"
    assert token_from_header("Basic !!!") is None
    assert token_from_header("Digest x") is None
    assert token_from_header(None) is None
