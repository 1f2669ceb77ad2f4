"""GitHub Actions job summaries: when ``GITHUB_STEP_SUMMARY`` names a file, ``run`` and
``reproduce`` append a Markdown section (run id, status, params, metrics, verify table)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlrun_cli.execution.reproduce import Check
    from mlrun_cli.tracking.models import Run

SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


_MARKDOWN = {c: "\\" + c for c in "\\`*_[]|~"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def _cell(text: str) -> str:
    """A value as inert Markdown: control characters shown escaped (``\\n``, ``\\x1b``), and
    Markdown/HTML syntax escaped, so a run name cannot add rows, links or markup."""
    from mlrun_cli.cli._table import printable

    return "".join(_MARKDOWN.get(char, char) for char in printable(text))


def markdown(run: Run, title: str, checks: tuple[Check, ...] = ()) -> str:
    """The Markdown section for one run."""
    lines = [
        f"### {title}",
        "",
        f"- run `{run.run_id}` ({_cell(run.name)}), status **{run.status}**"
        + (f", exit code {run.exit_code}" if run.exit_code not in (None, 0) else ""),
        f"- code `{run.code.commit or run.code.content_hash}`"
        + (" (dirty snapshot)" if run.code.snapshot_sha256 else ""),
        f"- fingerprint `{run.fingerprint}`",
        "",
    ]
    if run.params:
        lines += ["| param | value |", "| --- | --- |"]
        lines += [f"| {_cell(p.key)} | {_cell(p.value)} |" for p in run.params]
        lines.append("")
    if run.metrics:
        lines += ["| metric | value |", "| --- | --- |"]
        lines += [f"| {_cell(k)} | {m.value:.6g} |" for k, m in sorted(run.metrics.items())]
        lines.append("")
    if checks:
        lines += [
            "| check | key | original | reproduced | match |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {c.kind} | {_cell(c.key)} | {_cell(c.original)} | {_cell(c.reproduced)} | "
            f"{'yes' if c.match else '**NO**'} |"
            for c in checks
        ]
        lines.append("")
    return "\n".join(lines) + "\n"


def append_summary(run: Run, title: str, checks: tuple[Check, ...] = ()) -> None:
    """Append to the job summary file, if there is one."""
    target = os.environ.get(SUMMARY_ENV)
    if not target:
        return
    try:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(markdown(run, title, checks))
    except OSError as exc:
        from mlrun_cli.cli._output import warn

        # The run is recorded: a summary that cannot be written must not fail the job.
        warn(f"{SUMMARY_ENV}={target}: cannot write the step summary ({exc.strerror})")
