from __future__ import annotations

import math
from pathlib import Path

import pytest

from mlrun_cli.tracking.ingest import ingest_available, parse_events
from mlrun_cli.tracking.models import CodeVersion, RunCreate
from mlrun_cli.tracking.store import open_store


def test_parse_events_all_kinds_and_bad_lines() -> None:
    parsed = parse_events(
        b'{"t":"metric","k":"a","v":1,"s":2,"ts":3}\n'
        b'{"t":"metric","k":"n","v":"nan","s":0,"ts":3}\n'
        b'{"t":"param","k":"p","v":"x"}\n'
        b'{"t":"tag","k":"t","v":"y"}\n'
        b'{"t":"artifact","p":"m.json","n":3,"h":"abc"}\n'
        b"not json\n"
        b'{"t":"metric","k":"a","v":"high","s":0,"ts":0}\n'
        b'{"t":"weird"}\n'
        b"\n"
    )
    assert (parsed.metrics[0].key, parsed.metrics[0].value, parsed.metrics[0].step) == ("a", 1.0, 2)
    assert math.isnan(parsed.metrics[1].value)
    assert parsed.params[0].value == "x"
    assert parsed.tags == [("t", "y")]
    assert parsed.artifacts[0].path == "m.json"
    assert parsed.bad_lines == 3


def test_ingest_is_exactly_once_and_waits_for_complete_lines(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    run_id = store.create_run(RunCreate("0", "r", "main", "x", CodeVersion("local", "/p"))).run_id
    events = tmp_path / "e.jsonl"
    events.write_bytes(b'{"t":"metric","k":"a","v":1,"s":0,"ts":1}\n{"t":"metric","k":"a","v":2,')
    ingest_available(store, run_id, events)
    with events.open("ab") as handle:
        handle.write(b'"s":1,"ts":2}\n')
    ingest_available(store, run_id, events)
    ingest_available(store, run_id, events)
    assert [m.value for m in store.metric_history(run_id, "a")] == [1.0, 2.0]
    assert ingest_available(store, run_id, tmp_path / "missing") == []


def test_checked_metrics_are_ordinary_frozen_metrics() -> None:
    import dataclasses

    from mlrun_cli.tracking.models import Metric, checked_metric

    fast = checked_metric("loss", 0.5, 3, 7)
    assert fast == Metric("loss", 0.5, 3, 7)
    assert hash(fast) == hash(Metric("loss", 0.5, 3, 7))
    assert repr(fast) == repr(Metric("loss", 0.5, 3, 7))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.step = 4  # type: ignore[misc]


def test_a_chunk_of_valid_lines_parses_as_line_by_line() -> None:
    from mlrun_cli.tracking.ingest import _parse_lines, _parse_whole

    chunk = (
        b'{"t":"metric","k":"m","v":1,"s":0,"ts":5}\n\n'
        b'{"t":"param","k":"p","v":"1"}\n'
        b'{"t":"metric","k":"m","v":"nan","s":1,"ts":5}\n'
    )
    whole = _parse_whole(chunk)
    assert whole is not None
    assert repr(whole) == repr(_parse_lines(chunk))
    # Lines that are not one event each are left to the line-by-line parser.
    assert _parse_whole(b'{"t":"tag","k":"a","v":"1"},{"t":"tag","k":"b","v":"2"}\n') is None
    assert _parse_whole(b'{"t":"metric","k":"m",\n"v":1,"s":0,"ts":5}\n') is None
    assert _parse_whole(b'{"t":"metric","k":"bad key!","v":1,"s":0,"ts":5}\n') is None


def test_client_lines_take_the_fast_path_as_the_checked_one() -> None:
    """The client's own metric lines are built inline; a value, step or timestamp that is
    not its shape (or out of range) takes the validating path, with the same result."""
    chunk = (
        b'{"t":"metric","k":"a","v":0.5,"s":1,"ts":2}\n'
        b'{"t":"metric","k":"a","v":0.25,"s":2,"ts":3}\n'
        b'{"t":"metric","k":"a","v":3,"s":3,"ts":4}\n'
        b'{"t":"metric","k":"b","v":1.5,"s":-1,"ts":5}\n'
    )
    expected = [("a", 0.5, 1, 2), ("a", 0.25, 2, 3), ("a", 3.0, 3, 4), ("b", 1.5, -1, 5)]
    parsed = parse_events(chunk)
    assert [(m.key, m.value, m.step, m.timestamp) for m in parsed.metrics] == expected
    assert parsed.metrics == [m for line in chunk.splitlines()
                              for m in parse_events(line + b"\n").metrics]  # fmt: skip
    huge_step = b'{"t":"metric","k":"a","v":0.5,"s":1,"ts":2}\n{"t":"metric","k":"a","v":0.5,'
    assert parse_events(huge_step + b'"s":99999999999999999999,"ts":2}\n').bad_lines == 1


def test_live_ingest_follows_a_burst_before_its_interval(tmp_path: Path) -> None:
    import threading

    from mlrun_cli.tracking.ingest import LiveIngester

    store = open_store(str(tmp_path / "s"))
    run_id = store.create_run(RunCreate("0", "r", "main", "x", CodeVersion("local", "/p"))).run_id
    events = tmp_path / "e.jsonl"
    line = b'{"t":"metric","k":"a","v":0.5,"s":1,"ts":2}\n'
    events.write_bytes(line * (LiveIngester.BURST_BYTES // len(line) + 1))
    # An interval no test waits for: only the burst rule can ingest before stop().
    ingester = LiveIngester(lambda: open_store(str(tmp_path / "s")), run_id, events,
                            print, interval=3600)  # fmt: skip
    ingester.start()
    waited = threading.Event()
    for _ in range(3000):  # up to a minute on a starved machine; a failure never hangs
        if store.events_offset(run_id) or waited.wait(0.02):
            break
    ingester.stop()
    assert store.events_offset(run_id) == events.stat().st_size
