"""Pin paths never leave the DVC root, whatever a pin file or a recorded run says."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrun_cli.data.pins import inside
from mlrun_cli.errors import DataError

_PART = st.sampled_from(["a", "b", "..", ".", "", "link", "c.csv", "/", "\\", "~"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PART, min_size=1, max_size=6).map("/".join))
def test_inside_never_returns_a_path_outside(tmp_path_factory: pytest.TempPathFactory,
                                             relative: str) -> None:  # fmt: skip
    base = tmp_path_factory.mktemp("pins")
    root = base / "root"
    (root / "a").mkdir(parents=True, exist_ok=True)
    (base / "out").mkdir(exist_ok=True)
    link = root / "link"
    if not link.is_symlink():
        link.symlink_to(base / "out")
    try:
        target = inside(root, relative, "x.dvc")
    except DataError:
        return
    assert target.parent.resolve().is_relative_to(root.resolve())
    assert target.name not in ("", ".", "..")


def test_absolute_and_climbing_paths_are_refused(tmp_path: Path) -> None:
    for relative in ("/etc/passwd", "../x", "a/../../x", "..", "."):
        with pytest.raises(DataError):
            inside(tmp_path, relative, "x.dvc")
    assert inside(tmp_path, "data/x.csv", "x.dvc") == tmp_path / "data" / "x.csv"
