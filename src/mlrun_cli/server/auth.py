"""Users, their roles per experiment, and hashed tokens: who may read or write what.

Default deny: a request without a valid token is refused, and a user reaches an experiment only
through a role an admin granted (on that experiment, or on ``*``: every experiment). Tokens are
high-entropy random strings stored as their sha256 (a leaked database leaks no token); they are
shown once, when created, and never written to logs, records or errors.

A **run-scoped token** (``mlrr_...``) is minted by a user's token for one run id (``POST
/api/v1/tokens/run``) and carried by that run's backend job instead of the user's token, since
engines show a job's environment to whoever reaches them (Ray's dashboard, slurmctld's saved
state). It writes that run only, while the run is RUNNING (its create included, in the
experiment it was minted for), reads that run and its experiment, and expires after its TTL;
it never reaches other runs, searches, the MLflow paths, the UI or token creation. Its rights
are its user's, checked at every request: taking the user's role away takes its tokens' too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlrun_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from mlrun_cli.tracking.sql.dialect import Connection
    from mlrun_cli.tracking.sql.store import SqlStore

ROLES = ("read", "write", "admin")
EVERY_EXPERIMENT = "*"
TOKEN_PREFIX = "mlrt_"  # noqa: S105 - a prefix that makes leaked tokens findable
RUN_TOKEN_PREFIX = "mlrr_"  # noqa: S105 - a run-scoped token
RUN_TOKEN_TTL_S = 7 * 24 * 3600  # a week: a queued Slurm job may wait days
MAX_RUN_TOKEN_TTL_S = 30 * 24 * 3600
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


TOKEN_ID_CHARS = 16  # a token's id: the start of its stored sha256 (says nothing of the token)


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``tokens list`` shows it: never the token itself."""

    token_id: str
    name: str
    created_at: int
    run_id: str | None = None  # a run-scoped token's run
    expires_at: int | None = None


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def rank(role: str) -> int:
    """read < write < admin (0: no role)."""
    return ROLES.index(role) + 1 if role in ROLES else 0


@dataclass(frozen=True)
class User:
    """An authenticated user and their roles: experiment id (or ``*``) -> role; through a
    run-scoped token, only that run (``run_id``, in ``run_experiment``)."""

    name: str
    roles: tuple[tuple[str, str], ...]
    run_id: str | None = None
    run_experiment: str | None = None
    run_pin: str | None = None  # what the submitter pinned at mint (canonical JSON)
    # The sha256 of the token that authenticated them (what a run token it mints links to).
    token_hash: str | None = field(default=None, compare=False, repr=False)

    def role_on(self, experiment_id: str | None) -> int:
        """The rank of the user's role on an experiment (None: on every experiment)."""
        best = 0
        for target, role in self.roles:
            if target == EVERY_EXPERIMENT or (
                experiment_id is not None and target == experiment_id
            ):
                best = max(best, rank(role))
        return best

    def may(self, needed: str, experiment_id: str | None) -> bool:
        """Whether the user holds ``needed`` (or more) on the experiment (never through a
        run-scoped token: it reaches its run only, ``may_run``)."""
        return self.run_id is None and self.role_on(experiment_id) >= rank(needed)

    def may_run(self, needed: str, run_id: str, experiment_id: str) -> bool:
        """Whether the user may read or write (``needed``) one run of an experiment."""
        if self.run_id is None:
            return self.may(needed, experiment_id)
        return (
            run_id == self.run_id
            and experiment_id == self.run_experiment
            and rank(needed) <= rank("write")
            and self.role_on(experiment_id) >= rank(needed)
        )

    def may_see_experiment(self, experiment_id: str) -> bool:
        """Whether the user may read an experiment's record (a run-scoped token: its run's)."""
        if self.run_id is None:
            return self.may("read", experiment_id)
        return experiment_id == self.run_experiment and self.role_on(experiment_id) >= 1


def token_from_header(authorization: str | None) -> str | None:
    """The token in ``Bearer TOKEN`` or ``Basic base64(NAME:TOKEN)`` (MLflow's basic auth)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2] or None
    return None


class AuthStore:
    """The auth tables (migration 8) of the backend store, over its connection (SQLite or
    PostgreSQL: the SQL is the portable subset)."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    @property
    def _conn(self) -> Connection:
        return self._store.connection

    def add_user(self, name: str, role: str, experiment_id: str = EVERY_EXPERIMENT) -> None:
        """Create a user (if new) and grant a role on an experiment (replacing the old one)."""
        if not _NAME.fullmatch(name):
            raise UsageError(
                f"user name {name!r}: expected letters, digits and ._@- (at most 64 characters)"
            )
        if role not in ROLES:
            raise UsageError(f"--role {role!r}: expected one of {', '.join(ROLES)}")
        with self._store.transaction() as conn:
            conn.execute(
                "INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, int(time.time() * 1000)),
            )
            conn.execute(
                "INSERT INTO user_roles (name, experiment_id, role) VALUES (?, ?, ?) "
                "ON CONFLICT (name, experiment_id) DO UPDATE SET role = excluded.role",
                (name, experiment_id, role),
            )

    def create_token(self, name: str) -> str:
        """A new token for a user: returned once, stored only as its hash."""
        if self._conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
            raise NotFoundError(f"no user {name!r}: create it with `mlrun server users add`")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._conn.execute(
            "INSERT INTO tokens (token_hash, name, created_at) VALUES (?, ?, ?)",
            (hash_token(token), name, int(time.time() * 1000)),
        )
        return token

    def create_run_token(
        self, user: User, run_id: str, experiment_id: str, ttl_s: float | None = None,
        pinned: str | None = None,
    ) -> tuple[str, int]:  # fmt: skip
        """A token for one run, as ``user`` (who must hold write there: the caller checks),
        and its expiry (ms since the epoch); ``pinned``: what its run's create must match.
        Expired run tokens are dropped here."""
        ttl = RUN_TOKEN_TTL_S if ttl_s is None else float(ttl_s)
        if not 0 < ttl <= MAX_RUN_TOKEN_TTL_S:
            raise UsageError(
                f"ttl_seconds {ttl_s!r}: expected more than 0 and at most {MAX_RUN_TOKEN_TTL_S}"
            )
        now = int(time.time() * 1000)
        token = RUN_TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = now + int(ttl * 1000)
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM run_tokens WHERE expires_at <= ?", (now,))
            conn.execute(
                "INSERT INTO run_tokens (token_hash, name, run_id, experiment_id, created_at, "
                "expires_at, pinned, minted_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (hash_token(token), user.name, run_id, experiment_id, now, expires, pinned,
                 user.token_hash),
            )  # fmt: skip
        return token, expires

    def _live(self, name: str | None = None) -> list[tuple[str, TokenInfo]]:
        """(stored sha256, info) of the live tokens, oldest first; expired run tokens are
        dropped here."""
        now = int(time.time() * 1000)
        self._conn.execute("DELETE FROM run_tokens WHERE expires_at <= ?", (now,))
        where, args = (" WHERE name = ?", (name,)) if name is not None else ("", ())
        rows = self._conn.execute(
            f"SELECT token_hash, name, created_at, NULL, NULL FROM tokens{where} "
            f"UNION ALL SELECT token_hash, name, created_at, run_id, expires_at "
            f"FROM run_tokens{where} ORDER BY 3, 1",
            args * 2,
        ).fetchall()
        return [(str(h), TokenInfo(str(h)[:TOKEN_ID_CHARS], str(n), int(c),
                                   None if r is None else str(r), None if e is None else int(e)))
                for h, n, c, r, e in rows]  # fmt: skip

    def tokens(self, name: str | None = None) -> list[TokenInfo]:
        """The live tokens (a user's, or everyone's), oldest first: ids, never the tokens."""
        if (
            name is not None
            and self._conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None
        ):
            raise NotFoundError(f"no user {name!r} (`mlrun server users list` names them)")
        return [info for _, info in self._live(name)]

    def revoke_token(self, token_or_id: str) -> tuple[TokenInfo, int]:
        """Delete one token, named by itself or by its id (``tokens list``: a unique prefix of
        at least 8 hex characters, or the whole stored sha256), and the run tokens it minted;
        (the token, how many run tokens went with it). Refused from the next request on."""
        text = token_or_id.strip()
        is_token = text.startswith((TOKEN_PREFIX, RUN_TOKEN_PREFIX))
        wanted = text.lower()
        if is_token:
            live = [(h, t) for h, t in self._live() if h == hash_token(text)]
        elif len(wanted) >= 8 and all(c in "0123456789abcdef" for c in wanted):
            live = [(h, t) for h, t in self._live() if h.startswith(wanted)]
        else:
            # Never echoed: it may be a token pasted without its prefix.
            raise UsageError("expected a token (mlrt_... or mlrr_...) or a token id from "
                             "`mlrun server tokens list` (8 or more hex characters)")  # fmt: skip
        what = "the token given" if is_token else f"id {wanted[:TOKEN_ID_CHARS]!r}"
        if not live:
            raise NotFoundError(f"no live token matches {what} (`mlrun server tokens list`)")
        if len(live) > 1:
            raise UsageError(f"{len(live)} tokens match {what}: give more of the id")
        digest, info = live[0]
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM tokens WHERE token_hash = ?", (digest,))
            conn.execute("DELETE FROM run_tokens WHERE token_hash = ?", (digest,))
            minted = conn.execute("DELETE FROM run_tokens WHERE minted_by = ?", (digest,))
        return info, int(minted.rowcount)

    def remove_user(self, name: str) -> int:
        """Delete a user with their roles and every token of theirs; how many tokens went."""
        with self._store.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None:
                raise NotFoundError(f"no user {name!r} (`mlrun server users list` names them)")
            gone = 0
            for table in ("tokens", "run_tokens"):
                gone += conn.execute(f"DELETE FROM {table} WHERE name = ?", (name,)).rowcount
            conn.execute("DELETE FROM user_roles WHERE name = ?", (name,))
            conn.execute("DELETE FROM users WHERE name = ?", (name,))
        return int(gone)

    def users(self) -> list[User]:
        """Every user with their roles, by name."""
        rows = self._conn.execute(
            "SELECT u.name, r.experiment_id, r.role FROM users u "
            "LEFT JOIN user_roles r ON r.name = u.name ORDER BY u.name, r.experiment_id"
        ).fetchall()
        found: dict[str, list[tuple[str, str]]] = {}
        for name, target, role in rows:
            found.setdefault(name, [])
            if target is not None:
                found[name].append((target, role))
        return [User(name, tuple(roles)) for name, roles in found.items()]

    def authenticate(self, token: str | None) -> User | None:
        """The user a token belongs to, or None (unknown, malformed or missing token)."""
        if not token:
            return None
        digest = hash_token(token)
        scope: tuple[str, str, str | None] | None = None
        if token.startswith(RUN_TOKEN_PREFIX):
            row = self._conn.execute(
                "SELECT token_hash, name, run_id, experiment_id, expires_at, pinned "
                "FROM run_tokens WHERE token_hash = ?",
                (digest,),
            ).fetchone()
            if row is None or int(row[4]) <= int(time.time() * 1000):
                return None
            scope = (str(row[2]), str(row[3]), None if row[5] is None else str(row[5]))
        else:
            row = self._conn.execute(
                "SELECT token_hash, name FROM tokens WHERE token_hash = ?", (digest,)
            ).fetchone()
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        roles = self._conn.execute(
            "SELECT experiment_id, role FROM user_roles WHERE name = ?", (row[1],)
        ).fetchall()
        granted = tuple((str(t), str(r)) for t, r in roles)
        if scope is None:
            return User(row[1], granted, token_hash=digest)
        return User(row[1], granted, *scope, token_hash=digest)
