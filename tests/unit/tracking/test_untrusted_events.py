"""The events file is not trusted: every line is validated as the client validates calls, and one
bad line never costs the rest of its batch."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrun_cli.tracking.ingest import ingest_available, parse_events
from mlrun_cli.tracking.models import CodeVersion, RunCreate
from mlrun_cli.tracking.store import open_store

GOOD = b'{"t":"metric","k":"acc","v":0.5,"s":1,"ts":2}\n'
POISON = [
    b'{"t":"param","k":"p","v":"a\\ud800b"}\n',  # a lone surrogate
    b'{"t":"tag","k":"t","v":"\\udcff"}\n',
    b'{"t":"param","k":"bad key;$(x)","v":"1"}\n',
    b'{"t":"artifact","p":"../../etc/passwd","n":3,"h":"abc"}\n',
    b'{"t":"artifact","p":"_mlrun/output.log","n":3,"h":"abc"}\n',
    b'{"t":"artifact","p":"/etc/passwd","n":-1,"h":"abc"}\n',
    b'{"t":"metric","k":"m","v":1,"s":0,"ts":1700000000000000000}\n',  # time.time_ns()
    b'{"t":"metric","k":"m","v":1e400,"s":99999999999999999999,"ts":0}\n',
    b'{"t":"param","k":"p","v":"' + b"x" * 7000 + b'"}\n',
    b'{"t":"param","k":"r\xff","v":"1"}\n',  # not UTF-8 at all
]


def _run(tmp_path: Path) -> tuple[object, str]:
    store = open_store(str(tmp_path / "s"))
    run_id = store.create_run(RunCreate("0", "r", "main", "x", CodeVersion("local", "/p"))).run_id
    return store, run_id


def test_poison_lines_are_counted_and_the_rest_is_kept(tmp_path: Path) -> None:
    store, run_id = _run(tmp_path)
    events = tmp_path / "e.jsonl"
    events.write_bytes(GOOD + b"".join(POISON) + GOOD.replace(b'"s":1', b'"s":2'))
    warnings = ingest_available(store, run_id, events)  # type: ignore[arg-type]
    assert warnings[0].startswith(f"ignored {len(POISON)} invalid event line(s) (line 2")
    run = store.get_run(run_id)  # type: ignore[attr-defined]
    assert [m.step for m in store.metric_history(run_id, "acc")] == [1, 2]  # type: ignore[attr-defined]
    assert run.params == () or all(p.key != "bad key;$(x)" for p in run.params)
    assert run.artifacts == ()


_VALUES = st.one_of(
    st.text(), st.integers(), st.floats(allow_nan=True), st.none(), st.booleans(),
    st.lists(st.integers(), max_size=2), st.text(alphabet=st.characters(min_codepoint=0xD800,
                                                                        max_codepoint=0xDFFF)),
)  # fmt: skip
_EVENTS = st.fixed_dictionaries(
    {"t": st.sampled_from(["metric", "param", "tag", "artifact", "x"])},
    optional={"k": _VALUES, "v": _VALUES, "s": _VALUES, "ts": _VALUES, "p": _VALUES,
              "n": _VALUES, "h": _VALUES},
)  # fmt: skip


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_EVENTS, min_size=1, max_size=8))
def test_fuzzed_events_never_break_a_batch(tmp_path: Path, events: list[dict[str, object]]) -> None:
    chunk = b"".join(json.dumps(e).encode() + b"\n" for e in events) + GOOD
    parsed = parse_events(chunk)
    assert parsed.bad_lines + len(parsed.metrics) + len(parsed.params) + len(parsed.tags) + len(
        parsed.artifacts) == len(events) + 1  # fmt: skip
    store = open_store(str(tmp_path / "fuzz"))
    run_id = store.create_run(RunCreate("0", "r", "main", "x", CodeVersion("local", "/p"))).run_id
    store.log_batch(run_id, parsed.batch())  # never raises: everything in it is valid
    assert any(m.key == "acc" for m in store.metric_history(run_id, "acc"))
    store.close()


def test_a_line_nested_too_deeply_is_one_bad_line() -> None:
    from mlrun_cli.tracking.ingest import parse_events

    parsed = parse_events(b"[" * 100000 + b'\n{"t":"tag","k":"a","v":"b"}\n')
    assert parsed.bad_lines == 1
    assert parsed.tags == [("a", "b")]
    assert "nested too deeply" in (parsed.first_problem or "")
