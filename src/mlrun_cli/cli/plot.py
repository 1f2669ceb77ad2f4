"""Metric curves: in the terminal (plotext, imported only here: ~30 ms, no dependencies of its
own), as SVG or HTML (written here, no library), or as PNG (matplotlib, the ``plot`` extra)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

# Tell series apart without colour; 16 markers and 16 colours cover a typical sweep.
MARKERS = ("•", "+", "x", "o", "*", "#", "@", "%", "&", "=", "~", "^", "$", "?", "!", ":")
TERMINAL_COLOURS = (12, 208, 10, 9, 13, 14, 11, 129, 39, 202, 46, 199, 226, 33, 166, 250)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
LEGEND_WIDTH = 40  # a legend name longer than this is cut in its middle (PNG and SVG)


def segments(xs: tuple[float, ...], ys: tuple[float, ...]) -> list[list[tuple[float, float]]]:
    """The curve's runs of finite points: a NaN or infinity breaks the line (every drawing
    does the same: terminal, SVG, PNG)."""
    out: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(xs, ys, strict=True):
        if math.isfinite(y):
            out[-1].append((x, y))
        elif out[-1]:
            out.append([])
    return [part for part in out if part]


def legend_name(label: str, width: int = LEGEND_WIDTH) -> str:
    """A run's name for a legend, cut in its middle to ``width`` columns."""
    from mlrun_cli.cli._table import elide_middle, printable

    return elide_middle(printable(label), max(width, 3))


@dataclass(frozen=True)
class Series:
    """One run's curve of one metric."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]


@dataclass(frozen=True)
class Chart:
    """The curves of one metric."""

    key: str
    x_label: str
    series: tuple[Series, ...]


def integer_ticks(low: float, high: float, most: int = 6) -> list[int]:
    """Up to ``most`` whole-number ticks from ``low`` to ``high``, at a round stride."""
    start, end = math.floor(low), math.ceil(high)
    rank = 0
    stride = 1  # 1, 2, 5, 10, 20, 50, ...
    while (end - start) // stride + 1 > most:
        rank += 1
        stride = (1, 2, 5)[rank % 3] * 10 ** (rank // 3)
    first = start + (-start) % stride
    return list(range(first, end + 1, stride)) or [start]


def terminal_chart(chart: Chart, width: int, height: int, colour: bool) -> str:
    """The chart drawn with braille dots (colour) or one marker per run (no colour), and a
    legend under it (plotext's own sits inside the plot, over the first points)."""
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("pro" if colour else "clear")
    legend = []
    for index, series in enumerate(chart.series):
        code = TERMINAL_COLOURS[index % len(TERMINAL_COLOURS)]
        marker = MARKERS[index % len(MARKERS)]
        for part in segments(series.xs, series.ys):
            xs, ys = zip(*part, strict=True)
            if colour:
                plt.plot(list(xs), list(ys), marker="braille", color=code)
            else:
                plt.plot(list(xs), list(ys), marker=marker)
        sample = f"\033[38;5;{code}m━━\033[0m" if colour else marker * 2
        legend.append(f"  {sample} {legend_name(series.label, width - 5)}")
    plt.title(chart.key)
    plt.xlabel(chart.x_label)
    xs_all = [x for series in chart.series for x in series.xs if math.isfinite(x)]
    if chart.x_label == "step" and xs_all:
        plt.xticks(integer_ticks(min(xs_all), max(xs_all)))  # steps are whole: 0 1 2, not 1.2
    text: str = plt.build()
    plt.clear_figure()
    if not colour:
        text = plt.uncolorize(text)
    return "\n".join([text.rstrip("\n"), *legend])


def write_chart_file(charts: list[Chart], target: Path) -> None:
    """``.svg`` and ``.html`` written directly; ``.png`` through matplotlib."""
    from mlrun_cli.errors import UsageError

    if not target.parent.is_dir():
        raise UsageError(f"--output {target}: no such folder {target.parent}")
    suffix = target.suffix.lower()
    if suffix == ".svg":
        target.write_text(svg_document(charts), encoding="utf-8")
    elif suffix in (".html", ".htm"):
        body = "\n".join(f"<figure>{svg(chart)}</figure>" for chart in charts)
        title = html.escape(", ".join(chart.key for chart in charts))
        target.write_text(
            f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:2em}figure{margin:0 0 2em}</style>"
            f"</head><body>\n{body}\n</body></html>\n",
            encoding="utf-8",
        )
    elif suffix == ".png":
        _png(charts, target)
    else:
        raise UsageError(f"--output {target}: expected a .png, .svg or .html file")


def svg_document(charts: list[Chart], width: int = 800, height: int = 450) -> str:
    """One SVG file with the charts stacked (each chart a nested ``<svg>``)."""
    if len(charts) == 1:
        return svg(charts[0], width, height) + "\n"
    inner = [svg(chart, width, height, y=index * height) for index, chart in enumerate(charts)]
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height * len(charts)}">\n' + "\n".join(inner) + "\n</svg>\n"
    )


def nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def svg(chart: Chart, width: int = 800, height: int = 450, y: int = 0) -> str:
    """The chart as a standalone SVG document (axes, ticks, one polyline per run, legend)."""
    left, right, top, bottom = 70, 20, 40, 60
    points = [
        (x, y) for s in chart.series for x, y in zip(s.xs, s.ys, strict=True) if math.isfinite(y)
    ]
    if not points:
        raise UsageError(f"metric {chart.key!r}: no finite values to plot")
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = min(p[1] for p in points), max(p[1] for p in points)
    if x_high == x_low:
        x_high = x_low + 1
    if y_high == y_low:
        y_low, y_high = y_low - 0.5, y_high + 0.5
    pad = (y_high - y_low) * 0.05  # lines never sit on the frame
    y_low, y_high = y_low - pad, y_high + pad
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * plot_w

    def py(y: float) -> float:
        return top + (1 - (y - y_low) / (y_high - y_low)) * plot_h

    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" y="{y}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">'
        ),
        f'<rect width="{width}" height="{height}" fill="white"/>',
        (
            f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">'
            f"{html.escape(chart.key)}</text>"
        ),
        (
            f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
            'stroke="#444"/>'
        ),
    ]
    for tick in nice_ticks(x_low, x_high):
        x = px(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" '
                   f'y2="{top + plot_h + 5}" stroke="#444"/>')  # fmt: skip
        out.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">'
                   f"{tick:g}</text>")  # fmt: skip
    for tick in nice_ticks(y_low, y_high):
        at = py(tick)
        out.append(f'<line x1="{left - 5}" y1="{at:.1f}" x2="{left + plot_w}" y2="{at:.1f}" '
                   'stroke="#ddd"/>')  # fmt: skip
        out.append(f'<text x="{left - 8}" y="{at + 4:.1f}" text-anchor="end">{tick:g}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 15}" text-anchor="middle">'
               f"{html.escape(chart.x_label)}</text>")  # fmt: skip
    for index, series in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        label = html.escape(series.label)
        for part in segments(series.xs, series.ys):
            if len(part) == 1:  # a lone point: a dot, not an invisible one-point line
                ((at_x, at_y),) = part
                out.append(f'<circle cx="{px(at_x):.1f}" cy="{py(at_y):.1f}" r="3" fill="{colour}">'
                           f"<title>{label}</title></circle>")  # fmt: skip
                continue
            coords = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in part)
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" '
                       f'points="{coords}"><title>{label}</title></polyline>')  # fmt: skip
        legend_y = top + 16 + 16 * index
        out.append(f'<line x1="{left + plot_w - 190}" y1="{legend_y - 4}" '
                   f'x2="{left + plot_w - 170}" y2="{legend_y - 4}" stroke="{colour}" '
                   'stroke-width="3"/>')  # fmt: skip
        out.append(f'<text x="{left + plot_w - 165}" y="{legend_y}">'
                   f"{html.escape(legend_name(series.label, 22))}</text>")  # fmt: skip
    out.append("</svg>")
    return "\n".join(out)


def _png(charts: list[Chart], target: Path) -> None:
    try:
        import matplotlib as mpl
    except ImportError:
        raise UsageError(
            "--output .png needs matplotlib: pip install 'mlrun-cli[plot]' "
            "(or write .svg / .html, which need nothing)"
        ) from None
    import warnings

    mpl.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(len(charts), 1, figsize=(8, 4.5 * len(charts)), squeeze=False)
    with warnings.catch_warnings():
        # Names in scripts the default font lacks (CJK, emoji) show as boxes: no warning each.
        warnings.filterwarnings("ignore", message=".*[Gg]lyph.*missing")
        warnings.filterwarnings("ignore", message=".*missing from (current )?font")
        for chart, ax in zip(charts, axes[:, 0], strict=True):
            for series in chart.series:
                # NaN breaks the line (as in the terminal and the SVG); a marker shows lone points.
                ys = [y if math.isfinite(y) else math.nan for y in series.ys]
                lone = any(len(part) == 1 for part in segments(series.xs, series.ys))
                ax.plot(series.xs, ys, label=legend_name(series.label),
                        marker="o" if lone else None, markersize=4)  # fmt: skip
            ax.set_title(chart.key)
            ax.set_xlabel(chart.x_label)
            ax.grid(alpha=0.3)
            ax.legend()
        figure.tight_layout()
        figure.savefig(target, dpi=100)
    pyplot.close(figure)
