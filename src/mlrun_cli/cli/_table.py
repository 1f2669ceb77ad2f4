"""Aligned text tables for people, fitted to the terminal. Plain code, not rich: importing
rich.table costs ~30 ms, a sixth of the budget for a listing command (see README, Performance).

Fitting: long cells are elided with ``…`` (widest column first, down to a minimum; paths in the
middle; a number never: its column is dropped first), then columns are dropped from the right
(never the ones marked ``keep``) and named in a footer.
Control characters in values (ESC, newlines) are shown escaped, never sent to the terminal.
"""

from __future__ import annotations

import os
import sys

ELLIPSIS = "…"
MIN_WIDTH = 6  # a column is not elided below this (or its natural width, if smaller)
MAX_HEADER = 20
GAP = 2
PIPED_WIDTH = 80


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``): safe on a terminal."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        if char.isprintable() or char == " ":
            out.append(char)
        elif char in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def width_of(text: str) -> int:
    """Columns the text takes on a terminal (East Asian wide characters take two)."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def is_number(text: str) -> bool:
    """Whether a cell is a number (``0.0689655``, ``-3``, ``1e-05``): shown whole or not at all."""
    if not text or len(text) > 32 or text[-1:] not in "0123456789.":
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def elide(text: str, width: int, *, keep_end: bool = False) -> str:
    """``text`` cut to ``width`` columns with ``…`` where it was cut (at the start when
    ``keep_end``: the interesting end of a path)."""
    if width_of(text) <= width:
        return text
    if keep_end:
        return ELLIPSIS + elide(text[::-1], width)[-2::-1]
    return _prefix(text, width - 1) + ELLIPSIS


def elide_path(text: str, width: int) -> str:
    """A path or URL cut in the middle, keeping its start and its last part whole where they
    fit (``~/work/proj…/wine``): both are what people recognise; else cut at the start."""
    if width_of(text) <= width:
        return text
    last = text.rstrip("/").rsplit("/", 1)[-1]
    tail = text[len(text.rstrip("/")) - len(last) - 1 :] if "/" in text.rstrip("/") else ""
    room = width - width_of(tail)
    if tail and room >= 3:  # "/t…" at least: where it is
        return elide(text[: len(text) - len(tail)], room) + tail
    return elide(text, width, keep_end=True)


def _prefix(text: str, width: int) -> str:
    """The longest start of ``text`` that fits ``width`` columns."""
    out, used = [], 0
    for char in text:
        used += width_of(char)
        if used > width:
            break
        out.append(char)
    return "".join(out)


def elide_middle(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns in its middle, keeping both ends (metric names that
    differ at the start and share an end, ``training_mean_squared_error``)."""
    if width_of(text) <= width or width < 3:
        return elide(text, width)
    room = width - 1
    head = _prefix(text, (room + 1) // 2)
    tail = _prefix(text[::-1], room - width_of(head))[::-1]
    return head + ELLIPSIS + tail


def terminal_width(wide: bool = False) -> int | None:
    """The width to fit: None with ``--wide``; else ``COLUMNS``, the terminal's, or 80 if piped."""
    if wide:
        return None
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        try:
            return os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            return PIPED_WIDTH
    return PIPED_WIDTH


class Table:
    """Columns of text; a cell may carry an ANSI style used only on a colour terminal.
    (A plain class, not a dataclass: ``dataclasses`` costs a listing ~12 ms of startup.)"""

    def __init__(
        self, headers: list[str], *, right: set[int] | None = None, keep: set[int] | None = None,
        fixed: set[int] | None = None, paths: set[int] | None = None,
        middle: set[int] | None = None, floor: dict[int, int] | None = None,
        ends: set[int] | None = None,
    ) -> None:  # fmt: skip
        self.headers = headers
        self.right = right or set()
        self.keep = keep or set()  # never dropped when the table is too wide
        self.fixed = fixed or set()  # never elided (ids, statuses, numbers)
        self.paths = paths or set()  # elided in the middle (start and last part)
        self.middle = middle or set()  # elided in the middle, keeping both ends
        self.ends = ends or set()  # elided at the start (what differs is at the end)
        self.floor = floor or {}  # a column's own minimum width (instead of its header's)
        self.drop_order: list[int] | None = None  # most wanted first (default: left to right)
        self.rows: list[list[tuple[str, str]]] = []
        self.dropped: list[str] = []  # filled by render()

    def add_row(self, *cells: str | tuple[str, str]) -> None:
        """Add a row; a cell is text or (text, ANSI style code such as '32')."""
        row = [cell if isinstance(cell, tuple) else (cell, "") for cell in cells]
        self.rows.append([(printable(text), style) for text, style in row])

    def _fit(self, width: int | None) -> tuple[list[int], list[int]]:
        """The columns shown and their widths."""
        cells = [0] * len(self.headers)
        numbers = [0] * len(self.headers)  # the widest number of each column: never cut
        for row in self.rows:
            for index, (text, _) in enumerate(row):
                cells[index] = max(cells[index], width_of(text))
                if is_number(text):
                    numbers[index] = max(numbers[index], len(text))
        natural = [max(c, width_of(h)) for c, h in zip(cells, self.headers, strict=True)]
        shown = list(range(len(self.headers)))
        if width is None:
            return shown, natural
        # Headers stay readable (up to MAX_HEADER): a column is dropped before its name is cut
        # further; values of a ``fixed`` column are never cut (its header may be, in the middle).
        header_room = [min(width_of(h), MAX_HEADER) for h in self.headers]
        minimum = [
            max(cells[i], min(natural[i], header_room[i])) if i in self.fixed
            else min(natural[i], max(MIN_WIDTH, header_room[i]))
            for i in range(len(self.headers))
        ]  # fmt: skip
        for index, least in self.floor.items():
            minimum[index] = min(natural[index], least)
        minimum = [max(m, n) for m, n in zip(minimum, numbers, strict=True)]

        def total(columns: list[int], widths: list[int]) -> int:
            return sum(widths[i] for i in columns) + GAP * (len(columns) - 1)

        order = self.drop_order or list(range(len(self.headers)))
        droppable = [i for i in order if i not in self.keep and i != 0]
        while total(shown, minimum) > width and droppable:
            shown.remove(droppable.pop())
        if total(shown, minimum) > width:  # only kept columns left: their headers give way too
            minimum = [
                max(cells[i] if i in self.fixed else numbers[i], min(natural[i], MIN_WIDTH))
                if i in self.keep else minimum[i]
                for i in range(len(self.headers))
            ]  # fmt: skip
        widths = list(natural)
        while total(shown, widths) > width:
            # A column elided in its middle (the key naming a row) gives way last.
            widest = max(shown, key=lambda i: (i not in self.middle, widths[i] - minimum[i]))
            if widths[widest] <= minimum[widest] and widest not in self.middle:
                widest = max(shown, key=lambda i: widths[i] - minimum[i])
            if widths[widest] <= minimum[widest]:
                break
            widths[widest] -= 1
        return shown, widths

    def render(self, colour: bool, width: int | None = None) -> str:
        """The table as text, columns separated by two spaces, trailing spaces trimmed."""
        shown, widths = self._fit(width)
        self.dropped = [self.headers[i] for i in range(len(self.headers)) if i not in shown]

        def line(cells: list[tuple[str, str]], header: bool = False) -> str:
            parts = []
            for index in shown:
                text, style = cells[index]
                width = widths[index]
                if index in self.middle or header:  # headers: both ends tell them apart
                    text = elide_middle(text, width)
                elif index in self.paths:
                    text = elide_path(text, width)
                elif index in self.ends:
                    text = elide(text, width, keep_end=True)
                else:
                    text = elide(text, width)
                pad = " " * (widths[index] - width_of(text))
                padded = pad + text if index in self.right else text + pad
                parts.append(f"\033[{style}m{padded}\033[0m" if colour and style else padded)
            return (" " * GAP).join(parts).rstrip()

        header = line([(printable(h), "1") for h in self.headers], header=True)
        return "\n".join([header, *(line(row) for row in self.rows)])


def print_table(table: Table, *, wide: bool = False) -> None:
    """Print on stdout fitted to the terminal, coloured only on a terminal that wants colour;
    a footer on stderr names the columns that did not fit."""
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    sys.stdout.write(table.render(colour, terminal_width(wide)) + "\n")
    sys.stdout.flush()
    if table.dropped:
        from mlrun_cli.cli._output import info

        info(dropped_note(table.dropped, terminal_width(wide) or PIPED_WIDTH))


def dropped_note(dropped: list[str], width: int) -> str:
    """``3 more column(s): a, b, … (--wide, --columns)``, within ``width``; at
    least the first name (cut in its middle), however narrow."""
    head, tail = f"{len(dropped)} more column(s): ", " (--wide, --columns)"
    room = width - len("mlrun: ") - len(head) - len(tail)
    shown = [elide_middle(dropped[0], max(room - (3 if len(dropped) > 1 else 0), 3))]
    for name in dropped[1:]:
        if len(", ".join([*shown, name, "…"])) > room:
            break
        shown.append(name)
    if len(shown) < len(dropped):
        shown.append("…")
    return head + ", ".join(shown) + tail
