"""Users, roles and tokens (the auth tables of a real SQLite store and a real PostgreSQL
database: the same SQL)."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.server.auth import AuthStore, User, hash_token, token_from_header
from mlrun_cli.server.config import ServerConfig, open_backend

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.server.backends import Backend


@pytest.fixture
def auth(backend: Backend) -> Iterator[AuthStore]:
    store = open_backend(ServerConfig(backend.uri), serving=False)
    yield AuthStore(store)
    store.close()


def test_token_is_stored_only_as_its_hash(auth: AuthStore, backend: Backend) -> None:
    auth.add_user("ana", "write", "1")
    token = auth.create_token("ana")
    dump = backend.dump()
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


def test_a_new_role_replaces_the_old_one_and_users_are_listed(auth: AuthStore) -> None:
    auth.add_user("bob", "read")
    auth.add_user("ana", "read", "1")
    auth.add_user("ana", "admin", "1")
    auth.add_user("ana", "write")
    assert auth.users() == [
        User("ana", (("*", "write"), ("1", "admin"))),
        User("bob", (("*", "read"),)),
    ]


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
