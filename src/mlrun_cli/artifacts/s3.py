"""Artifacts in S3 (``s3://bucket/prefix``) through fsspec/s3fs (extra ``[s3]``).

Credentials and the endpoint come from the server's environment, as boto reads them
(``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ..., ``FSSPEC_S3_ENDPOINT_URL`` for an S3-compatible
service); they are never sent to clients or recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrun_cli.artifacts.run import ArtifactEntry, ArtifactInfo
from mlrun_cli.errors import StoreError, UsageError

if TYPE_CHECKING:
    from pathlib import Path


class S3Artifacts:
    """``s3://bucket/prefix/<run_id>/<path>``."""

    remote = True

    def __init__(self, destination: str) -> None:
        try:
            import fsspec
        except ImportError:
            raise UsageError(
                f"--artifacts-destination {destination}: S3 needs the s3 extra: "
                "pip install 'mlrun-cli[s3]'"
            ) from None
        bucket_path = destination[len("s3://") :].strip("/")
        if not bucket_path:
            raise UsageError(
                f"--artifacts-destination {destination!r}: expected s3://bucket/prefix"
            )
        self.base = bucket_path
        self._fs: Any = fsspec.filesystem("s3")

    def _key(self, run_id: str, relative: str = "") -> str:
        return "/".join(part for part in (self.base, run_id, relative) if part)

    def put(self, run_id: str, relative: str, source: Path) -> None:
        """Upload one file (replacing: a retried upload is the same object)."""
        key = self._key(run_id, relative)
        try:
            self._fs.put_file(str(source), key)
        except OSError as exc:
            raise StoreError(f"artifact upload to s3://{key} failed: {_reason(exc)}") from None

    def fetch(self, run_id: str, relative: str, target: Path, partial: Path) -> bool:
        """Download one file into ``target`` if S3 has it: received as ``partial`` (a name of
        its own per request: concurrent first reads never share one), then renamed."""
        if target.is_file():
            return True
        key = self._key(run_id, relative)
        try:
            if not self._fs.exists(key):
                return False
            self._fs.get_file(key, str(partial))
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.replace(target)
        except OSError as exc:
            raise StoreError(f"artifact download from s3://{key} failed: {_reason(exc)}") from None
        finally:
            partial.unlink(missing_ok=True)
        return True

    def entries(self, run_id: str, prefix: str = "") -> list[ArtifactEntry]:
        """One level of the folder ``prefix`` (a delimited listing: S3 sends only that)."""
        top = self._key(run_id, prefix)
        try:
            found = self._fs.ls(top, detail=True, refresh=True)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"artifact listing of s3://{top} failed: {_reason(exc)}") from None
        entries = []
        for item in found:
            name = str(item["name"]).rstrip("/")
            if not name.startswith(top + "/"):
                continue
            is_dir = item.get("type") == "directory"
            size = None if is_dir else int(item.get("size") or 0)
            entries.append(ArtifactEntry(name[len(top) + 1 :], size))
        return sorted(entries, key=lambda e: e.name)

    def list(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        """The run's objects under the folder ``prefix``, relative to the run's prefix."""
        run_key = self._key(run_id)
        top = self._key(run_id, prefix)
        try:
            found = self._fs.find(top, detail=True)
        except OSError as exc:
            raise StoreError(f"artifact listing of s3://{top} failed: {_reason(exc)}") from None
        return sorted(
            (ArtifactInfo(str(key)[len(run_key) + 1 :], int(item.get("size") or 0))
             for key, item in found.items()
             if str(key).startswith(top + "/")),
            key=lambda a: a.path,
        )  # fmt: skip

    def size(self, run_id: str, relative: str) -> int | None:
        """The object's size (a HEAD request), or None when S3 has no such object."""
        key = self._key(run_id, relative)
        try:
            info = self._fs.info(key)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"artifact lookup of s3://{key} failed: {_reason(exc)}") from None
        if info.get("type") != "file":
            return None
        return int(info.get("size") or 0)


def _reason(exc: OSError) -> str:
    """The error without local file names (a client must not learn the server's paths)."""
    import os

    return os.strerror(exc.errno).lower() if exc.errno else type(exc).__name__
