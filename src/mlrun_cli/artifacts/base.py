"""The ArtifactStore protocol and the function that opens one from a destination."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from mlrun_cli.artifacts.run import ArtifactEntry, ArtifactInfo


class ArtifactStore(Protocol):
    """Bytes of runs' files, keyed by run id and the path inside the run."""

    remote: bool  # False: the destination is the server's receiving folder itself

    def put(self, run_id: str, relative: str, source: Path) -> None: ...
    def fetch(self, run_id: str, relative: str, target: Path, partial: Path) -> bool:
        """Download the file into ``target`` (received as ``partial``, then renamed) if the
        destination has it."""
        ...

    def entries(self, run_id: str, prefix: str = "") -> list[ArtifactEntry]: ...
    def list(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]: ...
    def size(self, run_id: str, relative: str) -> int | None: ...


def open_artifacts(destination: str, local_root: Path) -> ArtifactStore:
    """``s3://bucket/prefix`` -> S3; anything else is the local folder ``local_root``."""
    if destination.startswith("s3://"):
        from mlrun_cli.artifacts.s3 import S3Artifacts

        return S3Artifacts(destination)
    if "://" in destination:
        scheme = destination.split("://", 1)[0]
        raise UsageError(
            f"--artifacts-destination {destination!r}: unsupported scheme {scheme!r}; "
            "expected a directory or s3://bucket/prefix"
        )
    from mlrun_cli.artifacts.local import LocalArtifacts

    return LocalArtifacts(local_root)
