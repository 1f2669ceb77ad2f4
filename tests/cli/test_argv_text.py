"""Arguments that are not valid UTF-8 are refused with one error line, whatever the flag."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrun_cli.cli import app


@pytest.mark.parametrize(
    "argv",
    [
        [b"run", b".", b"--run-name", b"r\xff"],
        [b"run", b".", b"-P", b"a=\xfe"],
        [b"runs", b"search", b"--filter", b"params.a = '\xff'"],
        [b"experiments", b"create", b"--experiment-name", b"e\xff"],
        [b"runs", b"tag", b"0000", b"k=\xff"],
    ],
)
def test_non_utf8_arguments_exit_2_without_traceback(argv: list[bytes]) -> None:
    proc = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"mlrun_cli", *argv],
        capture_output=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(b"error: argument "), proc.stderr
    assert b"Traceback" not in proc.stderr


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.binary(max_size=12), max_size=4))
def test_any_bytes_are_either_accepted_or_refused_cleanly(
    monkeypatch: pytest.MonkeyPatch, args: list[bytes]
) -> None:
    monkeypatch.setattr(sys, "argv", ["mlrun", *(os.fsdecode(a) for a in args)])
    valid = all(_utf8(a) for a in args)
    if valid:
        app._refuse_undecodable_argv()
    else:
        with pytest.raises(SystemExit) as info:
            app._refuse_undecodable_argv()
        assert info.value.code == 2


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
