from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import mlrun_cli

if TYPE_CHECKING:
    from collections.abc import Iterator
from mlrun_cli.tracking import client


@pytest.fixture
def events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "events.jsonl"
    path.touch()
    monkeypatch.setenv("MLRUN_EVENTS", str(path))
    monkeypatch.setenv("MLRUN_ARTIFACT_DIR", str(tmp_path / "artifacts"))
    monkeypatch.setattr(client, "_sink", None)
    monkeypatch.setattr(client, "_logged_params", {})
    yield path
    client.flush()


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_calls_append_json_lines(events: Path, tmp_path: Path) -> None:
    mlrun_cli.log_params({"alpha": 0.5, "name": "x"})
    mlrun_cli.log_metric("rmse", 0.25, step=3, timestamp=7)
    mlrun_cli.log_metric("nan", math.nan)
    mlrun_cli.set_tag("model", "enet")
    model = tmp_path / "model.json"
    model.write_text("{}")
    mlrun_cli.log_artifact(model, "models")
    mlrun_cli.log_dict({"a": 1}, "nested/coefs.json")
    got = lines(events)
    assert got[0] == {"t": "param", "k": "alpha", "v": "0.5"}
    assert got[2] == {"t": "metric", "k": "rmse", "v": 0.25, "s": 3, "ts": 7}
    assert got[3]["v"] == "nan"
    assert got[4] == {"t": "tag", "k": "model", "v": "enet"}
    assert got[5]["p"] == "models/model.json"
    assert got[6]["p"] == "nested/coefs.json"
    assert (tmp_path / "artifacts" / "nested" / "coefs.json").read_text() == '{\n  "a": 1\n}'


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlrun_cli.log_metric("m", "high"), "metric 'm': expected a number; got 'high'"),  # type: ignore[arg-type]
        (lambda: mlrun_cli.log_metric("m", None), "metric 'm': expected a number; got None"),  # type: ignore[arg-type]
        (lambda: mlrun_cli.log_metric("bad key!", 1), "metric key 'bad key!': expected letters"),
        (lambda: mlrun_cli.log_metric("", 1), "metric key must be a non-empty string"),
        (lambda: mlrun_cli.log_metric("m", 1, step=1.5), "step must be an integer; got 1.5"),  # type: ignore[arg-type]
        (lambda: mlrun_cli.log_param("../x", 1), "param key '../x'"),
        (
            lambda: mlrun_cli.log_artifact("/no/such/file"),
            "log_artifact: '/no/such/file' does not exist",
        ),
        (lambda: mlrun_cli.log_text("x", "../escape.txt"), "artifact path '../escape.txt'"),
    ],
)
def test_invalid_calls_raise_clear_errors(events: Path, call: object, message: str) -> None:
    with pytest.raises(mlrun_cli.TrackingClientError) as info:
        call()  # type: ignore[operator]
    assert str(info.value).startswith(message)


def test_params_are_immutable(events: Path) -> None:
    mlrun_cli.log_param("alpha", 0.5)
    mlrun_cli.log_param("alpha", "0.5")
    with pytest.raises(mlrun_cli.TrackingClientError, match=r"already logged as '0\.5'"):
        mlrun_cli.log_param("alpha", 0.7)


def test_client_module_is_standard_library_only() -> None:
    import ast

    source = Path(client.__file__).read_text()
    tree = ast.parse(source)
    imported = set()
    # Module-level imports only: the lazy ones (PyYAML, the direct-store sink) are optional.
    for node in tree.body:
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    import sys

    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlrun_cli.log_param("p", "a\ud800b"), "param 'p': not valid Unicode text"),
        (lambda: mlrun_cli.set_tag("t", "r\udcff"), "tag 't': not valid Unicode text"),
        (lambda: mlrun_cli.log_metric("m", 10**400), "metric 'm': 1000"),
        (
            lambda: mlrun_cli.log_metric("m", 1, timestamp=1_700_000_000_000_000_000),
            "timestamp 1700000000000000000 is out of range",
        ),
        (lambda: mlrun_cli.log_metric("m", 1, timestamp=-5), "timestamp -5 is out of range"),
        (lambda: mlrun_cli.log_text("x", "."), "artifact path ''"),
        (lambda: mlrun_cli.log_text("x", "dir/.."), "artifact path"),
        (lambda: mlrun_cli.log_text("x", "_mlrun/output.log"), "artifact path '_mlrun/output.log'"),
        (lambda: mlrun_cli.log_text("x", "caf\udce9.txt"), "artifact path 'caf"),
        (lambda: mlrun_cli.log_artifact(__file__, "/abs"), "artifact path '/abs/"),
    ],
)
def test_values_the_store_cannot_hold_are_refused(events: Path, call: object, message: str) -> None:
    with pytest.raises(mlrun_cli.TrackingClientError) as info:
        call()  # type: ignore[operator]
    assert str(info.value).startswith(message)
    assert not events.exists() or events.read_text() == ""


def test_queued_points_keep_their_order_with_other_events(events: Path) -> None:
    for step in range(3):
        mlrun_cli.log_metric("loss", 1.0 / (step + 1), step=step)
    mlrun_cli.set_tag("phase", "eval")  # written at once, after the points queued before it
    got = lines(events)
    assert [(e["t"], e.get("s")) for e in got] == [("metric", 0), ("metric", 1), ("metric", 2),
                                                   ("tag", None)]  # fmt: skip


def test_a_point_logged_before_an_idle_spell_is_written_by_the_flusher(events: Path) -> None:
    import time

    mlrun_cli.log_metric("loss", 0.5, step=1)
    deadline = time.monotonic() + 60  # a wait for the background write, not a timing check
    while not events.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [e["v"] for e in lines(events)] == [0.5]


def test_every_point_is_written_when_processes_end(tmp_path: Path) -> None:
    """A plain exit, a multiprocessing worker (which leaves with os._exit) and a forked child
    (which must not write its parent's queued points again)."""
    import subprocess
    import sys

    events = tmp_path / "events.jsonl"
    events.touch()
    script = (
        "import multiprocessing as mp, os, mlrun_cli\n"
        "def work(n):\n"
        "    for i in range(1000):\n"
        "        mlrun_cli.log_metric(f'w{n}', i, step=i)\n"
        "if __name__ == '__main__':\n"
        "    for i in range(700):\n"
        "        mlrun_cli.log_metric('main', i, step=i)\n"
        "    ctx = mp.get_context('fork')\n"
        "    workers = [ctx.Process(target=work, args=(n,)) for n in range(3)]\n"
        "    [w.start() for w in workers]\n"
        "    [w.join() for w in workers]\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        mlrun_cli.log_metric('child', 1.0)\n"
        "        mlrun_cli.flush()\n"
        "        os._exit(0)\n"
        "    os.waitpid(pid, 0)\n"
    )
    env = {**__import__("os").environ, "MLRUN_EVENTS": str(events),
           "MLRUN_ARTIFACT_DIR": str(tmp_path / "a")}  # fmt: skip
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    counts: dict[str, int] = {}
    for event in lines(events):
        counts[str(event["k"])] = counts.get(str(event["k"]), 0) + 1
    assert counts == {"main": 700, "w0": 1000, "w1": 1000, "w2": 1000, "child": 1}
