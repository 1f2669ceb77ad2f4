"""Aligned text tables for people. Plain code, not rich: importing rich.table costs ~30 ms,
a sixth of the budget for a listing command (see README, Performance)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field


@dataclass
class Table:
    """Columns of text; a cell may carry an ANSI style used only on a colour terminal."""

    headers: list[str]
    right: set[int] = field(default_factory=set)
    rows: list[list[tuple[str, str]]] = field(default_factory=list)

    def add_row(self, *cells: str | tuple[str, str]) -> None:
        """Add a row; a cell is text or (text, ANSI style code such as '32')."""
        self.rows.append([cell if isinstance(cell, tuple) else (cell, "") for cell in cells])

    def render(self, colour: bool) -> str:
        """The table as text, columns separated by two spaces, trailing spaces trimmed."""
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            for index, (text, _) in enumerate(row):
                widths[index] = max(widths[index], len(text))

        def line(cells: list[tuple[str, str]]) -> str:
            parts = []
            for index, (text, style) in enumerate(cells):
                padded = (
                    text.rjust(widths[index]) if index in self.right else text.ljust(widths[index])
                )
                parts.append(f"\033[{style}m{padded}\033[0m" if colour and style else padded)
            return "  ".join(parts).rstrip()

        header = line([(h, "1") for h in self.headers])
        return "\n".join([header, *(line(row) for row in self.rows)])


def print_table(table: Table) -> None:
    """Print on stdout, coloured only on a terminal that wants colour."""
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    sys.stdout.write(table.render(colour) + "\n")
    sys.stdout.flush()
