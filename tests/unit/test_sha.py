from __future__ import annotations

import hashlib
from pathlib import Path

from mlrun_cli import _sha


def test_small_and_bulk_inputs_give_hashlib_digests(tmp_path: Path) -> None:
    small, large = b"mlrun", b"x" * _sha.BULK_BYTES
    for data in (b"", small, large):
        assert _sha.hexdigest(data) == hashlib.sha256(data).hexdigest()
    hashed = _sha.sha256(b"ml")
    hashed.update(b"run")
    assert hashed.hexdigest() == hashlib.sha256(small).hexdigest()
    for name, data in (("small", small), ("large", large + b"tail")):
        (tmp_path / name).write_bytes(data)
        assert _sha.file_hexdigest(tmp_path / name) == hashlib.sha256(data).hexdigest()
