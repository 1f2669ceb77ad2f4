"""What a run token's submitter pins at mint, and the check of its run's create against it.

A backend job's run-scoped token is visible to whoever reaches the engine (Ray's dashboard
shows a PENDING job's environment). Its run does not exist yet, so whoever holds the token
could create it first, with any content. The submitter knows what the run will be: its entry
point, its parent (a sweep trial's), the commit it resolved (a git checkout) and the ``-P``
values it handed the worker; it sends them when it mints the token (``POST /tokens/run``
``{"pin": ...}``), the server keeps them with the token (canonical JSON) and refuses a create
by that token whose record differs. What is null was not pinned; ``path`` values are not
compared (the worker resolves them inside its own folder).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import RunCreate


def _optional_text(pin: dict[str, Any], key: str) -> str | None:
    value = pin.get(key)
    if value is not None and not isinstance(value, str):
        raise UsageError(f"request body: pin {key!r} must be a string or null")
    return value


def canonical_pin(pin: object) -> str | None:
    """The stored form of a mint's ``pin`` (None: nothing pinned, an older client)."""
    if pin is None:
        return None
    if not isinstance(pin, dict):
        raise UsageError("request body: 'pin' must be an object")
    unknown = set(pin) - {"entry_point", "parent_run_id", "commit", "params"}
    if unknown:
        raise UsageError(f"request body: pin: unknown key(s) {', '.join(sorted(unknown))}")
    params = pin.get("params") or {}
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in params.items()
    ):
        raise UsageError("request body: pin 'params' must map names to string values")
    clean = {
        "entry_point": _optional_text(pin, "entry_point"),
        "parent_run_id": _optional_text(pin, "parent_run_id"),
        "commit": _optional_text(pin, "commit"),
        "params": params,
    }
    return json.dumps(clean, sort_keys=True, separators=(",", ":"))


def differences(pinned: str, spec: RunCreate) -> list[str]:
    """What of a run's create differs from its token's pin (empty: it matches)."""
    pin = json.loads(pinned)
    found: list[str] = []
    if pin["entry_point"] is not None and spec.entry_point != pin["entry_point"]:
        found.append("entry point")
    if pin["parent_run_id"] is not None and spec.parent_run_id != pin["parent_run_id"]:
        found.append("parent run")
    if pin["commit"] is not None and spec.code.commit != pin["commit"]:
        found.append("commit")
    recorded = {p.key: p for p in spec.params}
    for name, value in sorted(pin["params"].items()):
        param = recorded.get(name)
        if param is None or (param.type != "path" and param.value != value):
            found.append(f"parameter {name!r}")
    return found
