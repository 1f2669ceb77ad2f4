"""Users, roles and tokens (the auth tables of a real SQLite store and a real PostgreSQL
database: the same SQL)."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.server import api_v1
from mlrun_cli.server.auth import AuthStore, User, hash_token, token_from_header
from mlrun_cli.server.config import ServerConfig, open_backend
from mlrun_cli.tracking.models import CodeVersion, RunCreate
from mlrun_cli.tracking.stores import wire
from tests.integration.test_server import add_user

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


# -- run-scoped tokens: what a backend job carries ---------------------------------------------
def _spec(experiment_id: str, run_id: str) -> dict[str, object]:
    return wire.run_create_to_json(RunCreate(
        experiment_id=experiment_id, name="r", entry_point="main", command="python x.py",
        code=CodeVersion("local", "/p", content_hash="h"), run_id=run_id,
    ))  # fmt: skip


def _call(ctx: api_v1.Context, endpoint: api_v1.Endpoint, user: User | None,
          body: dict[str, object] | None = None, **path: str) -> dict[str, object]:  # fmt: skip
    return endpoint(ctx, user, dict(body or {}), path)


@pytest.fixture
def scoped(
    auth: AuthStore, backend: Backend
) -> Iterator[tuple[api_v1.Context, User, str, str, str]]:
    """(context, the run-scoped user, its run id, its experiment, another experiment)."""
    store = open_backend(ServerConfig(backend.uri), serving=False)
    ctx = api_v1.Context(store, AuthStore(store))
    mine, other = store.create_experiment("mine"), store.create_experiment("other")
    auth.add_user("ana", "write")
    ana = auth.authenticate(auth.create_token("ana"))
    made = _call(ctx, api_v1.create_run_token, ana,
                 {"run_id": "r" * 32, "experiment_id": mine.experiment_id})  # fmt: skip
    token = str(made["token"])
    assert token.startswith("mlrr_")
    assert token not in backend.dump()
    user = auth.authenticate(token)
    assert user is not None
    assert user.run_id == "r" * 32
    yield ctx, user, "r" * 32, mine.experiment_id, other.experiment_id
    store.close()


def test_a_run_token_writes_its_run_only(
    scoped: tuple[api_v1.Context, User, str, str, str],
) -> None:
    ctx, user, run_id, mine, other = scoped
    _call(ctx, api_v1.create_run, user, _spec(mine, run_id))
    _call(ctx, api_v1.log_events, user, {"tags": [["k", "v"]]}, run_id=run_id)
    _call(ctx, api_v1.set_child, user, {"pid": 1}, run_id=run_id)
    assert _call(ctx, api_v1.get_run, user, {"exact": "1"}, run_id=run_id)["run"]
    assert _call(ctx, api_v1.get_experiment, user, experiment_id=mine)["experiment"]
    neighbour = ctx.store.create_run(wire.run_create_from_json(_spec(mine, "n" * 32))).run_id
    elsewhere = ctx.store.create_run(wire.run_create_from_json(_spec(other, "o" * 32))).run_id
    denied = [
        (api_v1.create_run, _spec(mine, "x" * 32), {}),  # another run of its experiment
        (api_v1.create_run, _spec(other, run_id), {}),  # its run id in another experiment
        (api_v1.log_events, {"tags": [["k", "v"]]}, {"run_id": neighbour}),
        (api_v1.finish_run, {"status": "FAILED"}, {"run_id": elsewhere}),
        (api_v1.get_run, {"exact": "1"}, {"run_id": neighbour}),
        (api_v1.get_runs, {"run_ids": [elsewhere]}, {}),
        (api_v1.get_experiment, {}, {"experiment_id": other}),
        (api_v1.search_runs, {"experiment_ids": [mine]}, {}),
        (api_v1.find_finished, {"experiment_id": mine, "fingerprint": "f"}, {}),
        (api_v1.create_experiment, {"name": "new"}, {}),
        (api_v1.create_run_token, {"run_id": run_id, "experiment_id": mine}, {}),
    ]
    for endpoint, body, path in denied:
        with pytest.raises(api_v1.DeniedError):
            _call(ctx, endpoint, user, body, **path)
    assert _call(ctx, api_v1.search_runs, user)["runs"] == []  # no experiment is visible
    assert _call(ctx, api_v1.list_experiments, user)["experiments"] == [
        ctx.store.get_experiment(mine).to_json()
    ]


def test_a_run_token_writes_no_more_once_its_run_ended(
    scoped: tuple[api_v1.Context, User, str, str, str],
) -> None:
    ctx, user, run_id, mine, _ = scoped
    _call(ctx, api_v1.create_run, user, _spec(mine, run_id))
    _call(ctx, api_v1.finish_run, user, {"status": "FINISHED", "exit_code": 0}, run_id=run_id)
    _call(ctx, api_v1.finish_run, user, {"status": "FINISHED", "exit_code": 0}, run_id=run_id)
    with pytest.raises(api_v1.DeniedError, match="has ended"):
        _call(ctx, api_v1.log_events, user, {"tags": [["k", "v"]]}, run_id=run_id)
    assert _call(ctx, api_v1.get_run, user, {"exact": "1"}, run_id=run_id)["run"]


def test_run_tokens_expire_and_follow_their_users_roles(
    auth: AuthStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.add_user("ana", "write", "1")
    ana = auth.authenticate(auth.create_token("ana"))
    assert ana is not None
    token, expires = auth.create_run_token(ana, "r" * 32, "1", ttl_s=60)
    user = auth.authenticate(token)
    assert user is not None
    assert user.may_run("write", "r" * 32, "1")
    assert not user.may("read", "1")
    auth.add_user("ana", "read", "1")  # the user's role shrinks: so does the token's
    user = auth.authenticate(token)
    assert user is not None
    assert user.may_run("read", "r" * 32, "1")
    assert not user.may_run("write", "r" * 32, "1")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    assert auth.authenticate(token) is None
    assert expires <= int((now + 61) * 1000)
    with pytest.raises(UsageError, match="ttl_seconds"):
        auth.create_run_token(ana, "r" * 32, "1", ttl_s=0)


def test_no_auth_mints_no_token(backend: Backend) -> None:
    store = open_backend(ServerConfig(backend.uri), serving=False)
    try:
        answer = _call(api_v1.Context(store), api_v1.create_run_token, None,
                       {"run_id": "r" * 32, "experiment_id": "0"})  # fmt: skip
        assert answer["token"] is None
    finally:
        store.close()


def test_a_missing_run_through_the_server_names_the_server_not_its_database(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlrun_cli.tracking.stores.rest import RestStore
    from tests.server.process import running_server

    monkeypatch.setenv("MLRUN_TRACKING_TOKEN", add_user(backend, "ana", "read"))
    with running_server(backend) as server:
        store = RestStore(server.url)
        try:
            with pytest.raises(NotFoundError) as caught:
                store.get_run("f" * 32)
        finally:
            store.close()
    assert str(caught.value) == f"no run with id {'f' * 32!r} on the tracking server {server.url}"


def test_revoking_a_token_revokes_the_run_tokens_it_minted(auth: AuthStore) -> None:
    auth.add_user("ana", "write")
    first, second = auth.create_token("ana"), auth.create_token("ana")
    by_first, _ = auth.create_run_token(auth.authenticate(first), "a" * 32, "0")  # type: ignore[arg-type]
    by_second, _ = auth.create_run_token(auth.authenticate(second), "b" * 32, "0")  # type: ignore[arg-type]
    info, minted = auth.revoke_token(first)
    assert (info.name, minted) == ("ana", 1)
    assert auth.authenticate(first) is None
    assert auth.authenticate(by_first) is None
    assert auth.authenticate(second) is not None
    assert auth.authenticate(by_second) is not None
