"""Plots of awkward curves and names (review at 80 columns): a single point, lines broken by
NaN and infinity, a 90-character run name, CJK and emoji names."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest

from mlrun_cli.cli.plot import Chart, Series, segments, svg, write_chart_file
from tests.cli.helpers import mlrun, record_run

LONG = "run_" + "x" * 80 + "_final"  # 90 characters
NAN, INF = math.nan, math.inf


def test_segments_break_at_nan_and_inf() -> None:
    xs = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    assert segments(xs, (1.0, 2.0, NAN, 3.0, INF, 4.0)) == [
        [(0.0, 1.0), (1.0, 2.0)], [(3.0, 3.0)], [(5.0, 4.0)]]  # fmt: skip
    assert segments((0.0,), (NAN,)) == []


def test_svg_marks_single_points_and_breaks_at_nan() -> None:
    chart = Chart("m", "step", (
        Series("one", (0.0,), (0.5,)),
        Series("gappy", (0.0, 1.0, 2.0, 3.0, 4.0), (1.0, 2.0, NAN, 3.0, 4.0)),
    ))  # fmt: skip
    text = svg(chart)
    assert text.count("<circle") == 1  # the lone point
    assert text.count("<polyline") == 2  # the gappy curve in two pieces, never one joined line
    assert all(p.count(",") >= 2 for p in text.split('points="')[1:])


def _png_pixels(path: Path) -> object:
    from matplotlib import image

    return image.imread(str(path))


def test_png_draws_single_points_and_gapped_lines(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import numpy

    target = tmp_path / "one.png"
    # A lone point and points only between NaNs: both must put colour on the canvas.
    chart = Chart("m", "step", (Series("one", (0.0,), (0.5,)),
                                Series("gaps", (0.0, 1.0, 2.0), (0.2, NAN, 0.8))))  # fmt: skip
    write_chart_file([chart], target)
    assert target.stat().st_size > 0
    pixels = numpy.asarray(_png_pixels(target))
    blue = (abs(pixels[..., 0] - 0x1F / 255) < 0.05) & (abs(pixels[..., 2] - 0xB4 / 255) < 0.05)
    orange = (abs(pixels[..., 0] - 1.0) < 0.05) & (abs(pixels[..., 1] - 0x7F / 255) < 0.05)
    assert blue.sum() > 40  # legend sample + marker
    assert orange.sum() > 60


def test_long_and_cjk_names_fit_every_legend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    first = record_run("e", LONG, {}, {"loss": [0.9, 0.5, NAN, 0.3]})
    second = record_run("e", "实验🚀测试", {}, {"loss": [1.0]})
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = mlrun("runs", "plot", first, second, "-m", "loss")
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" in out
    svg_path = tmp_path / "c.svg"
    code, _, err = mlrun("runs", "plot", first, second, "-m", "loss", "-o", str(svg_path))
    assert code == 0, err
    text = svg_path.read_text()
    assert LONG not in text.split("</title>")[-1]  # the legend text is elided
    assert "<circle" in text
    png = tmp_path / "c.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Glyph-missing warning would fail here
        code, _, err = mlrun("runs", "plot", first, second, "-m", "loss", "-o", str(png))
    assert code == 0, err
    assert "Glyph" not in err
    assert "Glyph" not in capfd.readouterr().err
    assert png.stat().st_size > 5000


def test_runs_show_fits_80(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlrun_cli.cli.describe import wrapped

    tag = "a long note " * 12 + "x" * 100
    run = record_run("e", LONG, {"p_" + "k" * 90: "v" * 120}, {"m": [1.0]}, {"note": tag})
    record_run("e", "实验🚀测试" * 12, {}, {})
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = mlrun("runs", "show", run)
    assert code == 0, err
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "x" * 60 in out.replace("\n", "").replace(" ", "")  # wrapped, not lost
    text = wrapped("实验🚀测试" * 12, 30, "name: ", "      ")
    from mlrun_cli.cli._table import width_of

    assert max(width_of(line) for line in text.splitlines()) <= 30
    assert text.replace("\n", "").replace(" ", "") == "name:" + "实验🚀测试" * 12


def test_step_axes_get_whole_number_ticks() -> None:
    from mlrun_cli.cli.plot import integer_ticks

    assert integer_ticks(0, 5) == [0, 1, 2, 3, 4, 5]
    assert integer_ticks(0, 9) == [0, 2, 4, 6, 8]
    assert integer_ticks(-7, 12) == [-5, 0, 5, 10]
    assert integer_ticks(3, 3) == [3]
    assert len(integer_ticks(0, 99_999)) <= 6
