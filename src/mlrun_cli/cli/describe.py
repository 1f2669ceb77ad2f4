"""What ``runs show`` prints, without typer (the typer command and the fast path share it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.cli._args import one_run_id, open_cli_store
from mlrun_cli.cli._columns import short_hash
from mlrun_cli.cli._output import echo, format_number, format_time, print_json
from mlrun_cli.cli._table import PIPED_WIDTH, elide_middle, terminal_width, width_of

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run

LABEL = 12  # "environment:" and a space, then the value


def _environment_line(run: Run) -> str:
    env = run.environment
    text = f"{env['manager'] or '?'}, Python {env['python'] or '?'}"
    if env["lock_sha256"]:
        text += f", {len(env['packages'])} packages (lock sha256 {env['lock_sha256'][:12]})"
    return text


def _data_line(run: Run) -> str:
    data = run.data
    if data is None:
        return "-"
    text = f"fingerprint {data.fingerprint[:12]}, {len(data.pins)} pinned path(s)"
    if data.revision:
        text += f", pins from {data.revision}"
    if data.dirty:
        text += ", DIRTY (actual hashes recorded)"
    if data.remote:
        text += f", remote {data.remote}"
    if data.pulled:
        text += f", fetched {len(data.pulled)} object(s)"
    return text


def _code_line(run: Run) -> str:
    code = run.code
    if not code.commit:
        return f"content sha256 {code.content_hash}"
    version = code.commit + (f" ({code.version})" if code.version else "")
    if code.dirty:
        version += (
            f" + dirty snapshot sha256 {code.snapshot_sha256[:12]} (_mlrun/dirty.patch)"
            if code.snapshot_sha256
            else " (dirty, not recorded)"
        )
    return version


def _place(location: str) -> str:
    """A local folder as people type it: ``./mlruns/...`` under this folder, ``~/...`` under
    the home folder; anything else (a URL) as it is."""
    from pathlib import Path

    path = Path(location)
    if not path.is_absolute():
        return location
    for base, shown in ((Path.cwd(), "."), (Path.home(), "~")):
        if path.is_relative_to(base) and path != base:
            return f"{shown}/{path.relative_to(base)}"
    return location


def wrapped(text: str, width: int, first: str, rest: str) -> str:
    """``text`` after ``first``, broken between words (a word longer than a line is broken
    too, but a URL or path is not: it stays whole on its own line so it can be copied) into
    lines of ``width`` columns at most (East Asian wide characters count two), the
    continuation lines after ``rest``."""
    lines: list[str] = []
    line, fresh = first, True
    for given in text.split(" "):
        word = given
        joined = line + ("" if fresh else " ") + word
        if width_of(joined) <= width:
            line, fresh = joined, False
            continue
        if not fresh:
            lines.append(line)
            line = rest
        while width_of(line + word) > width and word and "/" not in word:
            head = _cut(word, width - width_of(line))
            lines.append(line + head)
            word, line = word[len(head) :], rest
        line, fresh = line + word, False
    lines.append(line)
    return "\n".join(lines)


def _cut(word: str, width: int) -> str:
    """The longest start of ``word`` within ``width`` columns (one character at least)."""
    out, used = "", 0
    for char in word:
        used += width_of(char)
        if used > width and out:
            break
        out += char
    return out


def fitted(label: str, value: str, width: int) -> str:
    """``label: value`` within ``width``: a long fingerprint shortened as tables show hashes
    (``--json`` has it whole), other values broken between words under the value's column."""
    line = f"{label + ':':<{LABEL}} {value}"
    if width_of(line) <= width:
        return line
    if label == "fingerprint":
        return f"{label + ':':<{LABEL}} {short_hash(value)}…"
    return wrapped(value, width, f"{label + ':':<{LABEL}} ", " " * (LABEL + 1))


def describe_run(run: Run, experiment_name: str) -> str:
    """The human form of a run, control characters escaped."""
    from mlrun_cli.cli._table import printable

    code = run.code
    duration = f"{(run.end_time - run.start_time) / 1000:.1f}s" if run.end_time else "-"
    source = f"{code.uri} [{code.kind}]" + (f" #{code.subdirectory}" if code.subdirectory else "")
    lines = [
        ("run id", run.run_id),
        ("name", run.name),
        ("experiment", f"{experiment_name} (id {run.experiment_id})"),
        *((("parent run", run.parent_run_id),) if run.parent_run_id else ()),
        ("status", run.status + (f" ({run.status_reason})" if run.status_reason else "")),
        ("exit code", "-" if run.exit_code is None else str(run.exit_code)),
        ("started", format_time(run.start_time)),
        ("duration", duration),
        ("user@host", f"{run.user}@{run.host}"),
        ("source", source),
        ("code", _code_line(run)),
        ("environment", _environment_line(run)),
        ("data", _data_line(run)),
        ("entry point", run.entry_point),
        ("fingerprint", run.fingerprint or "-"),
        ("command", run.command),
        ("artifacts", _place(run.artifact_uri)),
    ]
    width = terminal_width() or PIPED_WIDTH
    out = [fitted(label, printable(value), width) for label, value in lines]
    for title, items in (
        ("params", [(p.key, p.value) for p in run.params]),
        ("metrics", [(k, format_number(m.value)) for k, m in sorted(run.metrics.items())]),
        ("tags", sorted(run.tags.items())),
        (
            "data pins",
            [
                (p.path, p.md5 + ("" if p.is_output else "  (dependency)"))
                for p in (run.data.pins if run.data else ())
            ],
        ),
        ("files", [(a.path, f"{a.size} bytes  sha256:{a.sha256[:12]}") for a in run.artifacts]),
    ):
        if items:
            out.append(f"{title}:")
            out.extend(
                wrapped(
                    printable(value),
                    width,
                    f"  {elide_middle(printable(key), max(width // 2, 10))} = ",
                    "      ",
                )
                for key, value in items
            )
    return "\n".join(out)


def show_run(
    run_id: str | None, run_id_option: list[str] | None, *, json_output: bool,
    tracking_uri: str | None,
) -> None:  # fmt: skip
    """``runs show``: the run's description, or its JSON."""
    store = open_cli_store(tracking_uri)
    run = store.get_run(store.resolve_run_id(one_run_id(run_id, run_id_option)))
    if store.uri.startswith(("http://", "https://")):
        import dataclasses
        from urllib.parse import quote

        # The server's own folder means nothing here: its files are read through its URL.
        served = f"{store.uri.rstrip('/')}/api/v1/runs/{quote(run.run_id, safe='')}/artifacts"
        run = dataclasses.replace(run, artifact_uri=served)
    if json_output:
        print_json(run.to_json())
        return
    echo(describe_run(run, store.get_experiment(run.experiment_id).name))
