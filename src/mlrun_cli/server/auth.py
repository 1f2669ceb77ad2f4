"""Users, their roles per experiment, and hashed tokens: who may read or write what.

Default deny: a request without a valid token is refused, and a user reaches an experiment only
through a role an admin granted (on that experiment, or on ``*``: every experiment). Tokens are
high-entropy random strings stored as their sha256 (a leaked database leaks no token); they are
shown once, when created, and never written to logs, records or errors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrun_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from mlrun_cli.tracking.sql.dialect import Connection
    from mlrun_cli.tracking.sql.store import SqlStore

ROLES = ("read", "write", "admin")
EVERY_EXPERIMENT = "*"
TOKEN_PREFIX = "mlrt_"  # noqa: S105 - a prefix that makes leaked tokens findable
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def rank(role: str) -> int:
    """read < write < admin (0: no role)."""
    return ROLES.index(role) + 1 if role in ROLES else 0


@dataclass(frozen=True)
class User:
    """An authenticated user and their roles: experiment id (or ``*``) -> role."""

    name: str
    roles: tuple[tuple[str, str], ...]

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
        """Whether the user holds ``needed`` (or more) on the experiment."""
        return self.role_on(experiment_id) >= rank(needed)


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
        row = self._conn.execute(
            "SELECT token_hash, name FROM tokens WHERE token_hash = ?", (digest,)
        ).fetchone()
        if row is None or not hmac.compare_digest(row[0], digest):
            return None
        roles = self._conn.execute(
            "SELECT experiment_id, role FROM user_roles WHERE name = ?", (row[1],)
        ).fetchall()
        return User(row[1], tuple((str(t), str(r)) for t, r in roles))
