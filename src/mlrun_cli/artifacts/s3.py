"""Artifacts in S3 (``s3://bucket/prefix``) through fsspec/s3fs (extra ``[s3]``).

Credentials and the endpoint come from the server's environment, as boto reads them
(``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ..., ``FSSPEC_S3_ENDPOINT_URL`` for an S3-compatible
service); they are never sent to clients or recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrun_cli.artifacts.run import ArtifactInfo
from mlrun_cli.errors import StoreError, UsageError

if TYPE_CHECKING:
    from pathlib import Path


class S3Artifacts:
    """``s3://bucket/prefix/<run_id>/<path>``."""

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
        try:
            self._fs.put_file(str(source), self._key(run_id, relative))
        except OSError as exc:
            raise StoreError(
                f"artifact upload to s3://{self._key(run_id, relative)}: {exc}"
            ) from exc

    def fetch(self, run_id: str, relative: str, target: Path) -> bool:
        """Download one file into ``target`` if S3 has it."""
        if target.is_file():
            return True
        key = self._key(run_id, relative)
        try:
            if not self._fs.exists(key):
                return False
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.download")
            self._fs.get_file(key, str(partial))
            partial.replace(target)
        except OSError as exc:
            raise StoreError(f"artifact download from s3://{key}: {exc}") from exc
        return True

    def list(self, run_id: str) -> list[ArtifactInfo]:
        """The run's objects, relative to its prefix."""
        prefix = self._key(run_id)
        try:
            found = self._fs.find(prefix, detail=True)
        except OSError as exc:
            raise StoreError(f"artifact listing of s3://{prefix}: {exc}") from exc
        return sorted(
            (ArtifactInfo(str(key)[len(prefix) + 1 :], int(item.get("size") or 0))
             for key, item in found.items()),
            key=lambda a: a.path,
        )  # fmt: skip
