"""runs compare deltas and row selection; runs metric for several runs; runs plot in the
terminal (axes, legend) and to SVG, HTML and PNG files."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from mlrun_cli.cli.compare import delta_text
from mlrun_cli.cli.plot import nice_ticks
from tests.cli.helpers import mlrun, record_run


@pytest.fixture
def pair() -> list[str]:
    first = record_run("e", "base", {"alpha": "0.5", "seed": "1"},
                       {"rmse": [0.9, 0.8, 0.7], "acc": [0.5, 0.6]})  # fmt: skip
    second = record_run("e", "next", {"alpha": "0.1", "seed": "1"},
                        {"rmse": [0.8, 0.7, 0.6, 0.55], "acc": [0.5, 0.6]})  # fmt: skip
    return [first, second]


def test_compare_shows_metric_deltas(pair: list[str]) -> None:
    code, out, _ = mlrun("runs", "compare", "--all", *pair)
    assert code == 0
    rmse = next(line for line in out.splitlines() if "metrics.rmse" in line)
    assert rmse.startswith("*")
    assert "0.55 (-0.15 -21.4%)" in rmse
    acc = next(line for line in out.splitlines() if "metrics.acc" in line)
    assert "(" not in acc  # unchanged: no delta
    assert delta_text(0.0, 0.5) == "+0.5"  # no percent against zero
    assert delta_text(1.0, float("nan")) == ""


def test_only_diff_and_all(pair: list[str]) -> None:
    _, out, err = mlrun("runs", "compare", "--only-diff", *pair)
    fields = [line.split()[1] for line in out.splitlines()[1:]]
    assert "params.alpha" in fields
    assert "params.seed" not in fields
    assert "identical row(s) hidden (--all shows them)" in err
    _, out, _ = mlrun("runs", "compare", "--all", *pair)
    assert "params.seed" in out
    code, _, err = mlrun("runs", "compare", "--all", "--only-diff", *pair)
    assert code == 2
    assert "give --all or --only-diff, not both" in err
    _, out, _ = mlrun("runs", "compare", pair[0], "--run-id", pair[1], "--json")
    assert json.loads(out)["run_ids"] == pair


def test_metric_for_several_runs(pair: list[str]) -> None:
    _, out, _ = mlrun("runs", "metric", *pair, "rmse", "-f", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["step", *pair]
    assert rows[1:] == [["0", "0.9", "0.8"], ["1", "0.8", "0.7"], ["2", "0.7", "0.6"],
                        ["3", "", "0.55"]]  # fmt: skip
    _, out, _ = mlrun("runs", "metric", *pair, "rmse")
    assert out.splitlines()[0].split() == ["step", pair[0][:8], pair[1][:8]]
    assert out.splitlines()[-1].split() == ["3", "-", "0.55"]
    _, out, _ = mlrun("runs", "metric", *pair, "rmse", "--format", "json")
    assert [len(r["history"]) for r in json.loads(out)["runs"]] == [3, 4]
    _, out, _ = mlrun("runs", "metric", "--run-id", pair[0], "rmse", "-f", "csv")
    assert out.splitlines()[0] == "step,value,timestamp"
    code, _, err = mlrun("runs", "metric", *pair, "nope")
    assert code == 2
    assert "none of the 2 runs has a metric 'nope'" in err


def test_terminal_chart_has_axes_title_and_legend(
    pair: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = mlrun("runs", "plot", *pair, "--metric", "rmse")
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert lines[0].strip() == "rmse"
    assert lines[1].lstrip().startswith("┌")
    assert any(line.lstrip().startswith("└") for line in lines)
    assert any(line.strip() == "step" for line in lines)  # x axis label
    y_ticks = [float(m.group(1)) for line in lines if (m := re.match(r"^\s*([\d.]+)┤", line))]
    assert min(y_ticks) <= 0.56
    assert max(y_ticks) >= 0.89
    x_axis = next(line for line in lines if line.split()[:1] == ["0"] and "3" in line.split())
    assert [int(tick) for tick in x_axis.split()] == [0, 1, 2, 3]  # whole steps
    assert float(x_axis.split()[-1]) == 3.0
    assert f"{pair[0][:8]} base" in out
    assert f"{pair[1][:8]} next" in out
    assert "\x1b" not in out  # piped: no colour
    _, timed, _ = mlrun("runs", "plot", *pair, "-m", "rmse", "--x", "time")
    assert "seconds since the run's first point" in timed
    assert "4.5" in timed  # 3 steps x 1.5 s


def test_plot_defaults_to_the_longest_curve(pair: list[str]) -> None:
    code, out, err = mlrun("runs", "plot", *pair)
    assert code == 0
    assert out.splitlines()[0].strip() == "rmse"  # 7 points; acc has 4
    assert "plotting rmse (--metric picks another: acc)" in err
    lonely = record_run("e", "none", {}, {})
    code, _, err = mlrun("runs", "plot", lonely)
    assert code == 2
    assert "the runs logged no metrics" in err


def test_plot_files(pair: list[str], tmp_path: Path) -> None:
    svg = tmp_path / "curves.svg"
    code, _, err = mlrun("runs", "plot", *pair, "-m", "rmse", "-m", "acc", "--output", str(svg))
    assert code == 0, err
    text = svg.read_text()
    assert text.startswith("<svg")
    assert text.count("<polyline") == 4  # two metrics x two runs
    assert "rmse" in text
    assert f"{pair[0][:8]} base" in text
    html = tmp_path / "curves.html"
    mlrun("runs", "plot", *pair, "-m", "rmse", "-o", str(html))
    assert "<!doctype html>" in html.read_text()
    png = tmp_path / "curves.png"
    code, _, err = mlrun("runs", "plot", *pair, "-m", "rmse", "-o", str(png))
    assert code == 0, err
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 5000
    code, _, err = mlrun("runs", "plot", *pair, "-o", str(tmp_path / "x.pdf"))
    assert code == 2
    assert "expected a .png, .svg or .html file" in err


def test_compare_plot_overlays_curves(pair: list[str]) -> None:
    code, out, _ = mlrun("runs", "compare", *pair, "--plot", "rmse")
    assert code == 0
    assert "field" in out.splitlines()[0]
    assert any(line.strip() == "rmse" for line in out.splitlines())
    assert f"{pair[1][:8]} next" in out


def test_svg_escapes_names_and_ticks() -> None:
    evil = record_run("e", "<script>alert(1)</script>", {}, {"m": [1.0, 2.0]})
    from mlrun_cli.cli.plot import Chart, Series, svg

    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    chart = Chart("m<", "step", (Series(f"{evil[:8]} <script>", (0.0, 1.0), (1.0, 2.0)),))
    assert "<script>" not in svg(chart)
