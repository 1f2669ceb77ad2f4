"""The run fingerprint: equal fingerprints mean the same run (same code, data, env, inputs).

    fp2:<sha256 of the canonical JSON below>

    {"v": 2, "code": commit or "content:<hash>", "snapshot": dirty-patch sha256 or null,
     "subdirectory": ..., "entry_point": ..., "params": [[name, recorded value], ...] sorted,
     "data": data fingerprint or null, "env_lock": lock sha256 or null,
     "python": "3.11.7", "platform": "linux-x86_64", "inputs": [[param, md5], ...] sorted}

Version 2: ``path`` values inside the project are relative to it, and unpinned inputs (paths
outside the project, URLs) enter by content hash. Uncommitted changes that were not recorded
(``--dirty allow``) make the fingerprint unique: such a run is never reused nor reuses another.

Stable across mlrun versions: a change to what goes in bumps the version prefix (fp2:...), so
old and new fingerprints never collide.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from mlrun_cli._sha import hexdigest

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mlrun_cli.tracking.models import CodeVersion

FINGERPRINT_VERSION = 2


def fingerprint(
    code: CodeVersion,
    entry_point: str,
    params: Iterable[tuple[str, str]],
    data_fingerprint: str | None,
    env_lock_sha256: str | None,
    python: str,
    platform: str,
    inputs: Iterable[tuple[str, str]] = (),
) -> str:
    """The versioned fingerprint of a run's inputs."""
    identity = {
        "v": FINGERPRINT_VERSION,
        "code": code.commit or f"content:{code.content_hash}",
        "snapshot": _snapshot_identity(code),
        "subdirectory": code.subdirectory,
        "entry_point": entry_point,
        "params": sorted([name, value] for name, value in params),
        "data": data_fingerprint,
        "env_lock": env_lock_sha256,
        "python": python,
        "platform": platform,
        "inputs": sorted([name, md5] for name, md5 in inputs),
    }
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return f"fp{FINGERPRINT_VERSION}:" + hexdigest(canonical.encode())


def _snapshot_identity(code: CodeVersion) -> str | None:
    """The dirty snapshot's hash; a unique value for changes no record holds (--dirty allow),
    so such a run never matches another one."""
    if not code.dirty:
        return None
    if code.snapshot_sha256:
        return code.snapshot_sha256
    import uuid

    return f"unrecorded:{uuid.uuid4().hex}"
