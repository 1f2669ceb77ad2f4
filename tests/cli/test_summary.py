"""GitHub step summaries: values cannot inject Markdown, HTML, rows or terminal escapes."""

from __future__ import annotations

from mlrun_cli.cli.summary import markdown
from mlrun_cli.tracking.store import open_store
from tests.cli.helpers import record_run


def test_summary_escapes_markdown_html_and_control_characters() -> None:
    evil = "<img src=x onerror=alert(1)> **bold** [link](http://x) `code` a|b\n| injected |"
    run_id = record_run("e", evil, {"p": "\x1b[31mred\x1b[0m|x"}, {"m|<b>": [1.0]})
    run = open_store().get_run(run_id)
    text = markdown(run, "mlrun run")
    assert "<img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "\\*\\*bold\\*\\*" in text
    assert "\\[link\\](http://x)" in text
    assert "\\`code\\`" in text
    assert "\x1b" not in text
    assert "\\\\x1b\\[31mred" in text
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert "| injected |" not in text.replace("\\|", "")
    assert len([line for line in text.splitlines() if "injected" in line]) == 1
    param_row = next(line for line in rows if line.startswith("| p |"))
    assert param_row.count("|") - param_row.count("\\|") == 3  # two cells: not split by the '|'
