"""MLproject command templates: ``python train.py --alpha {alpha}``.

Placeholders are filled by plain substitution (not ``str.format``, which would read ``{a.b}`` as
an attribute and ``{0}`` as a position). Values are shell-quoted by mlrun, so a placeholder
inside quotes in the template is refused: inside double quotes ``$(...)`` in a value would run.
"""

from __future__ import annotations

import string


def parse_template(command: str) -> list[tuple[str, str | None]]:
    """(literal text, placeholder name or None) pieces; ValueError for malformed braces."""
    pieces = []
    for literal, name, spec, conversion in string.Formatter().parse(command):
        if name is not None and (not name.strip() or spec or conversion):
            suffix = f"!{conversion}" if conversion else ""
            suffix += f":{spec}" if spec else ""
            raise ValueError(f"expected {{name}} placeholders; got {{{name}{suffix}}}")
        pieces.append((literal, name))
    return pieces


def quoted_placeholders(pieces: list[tuple[str, str | None]]) -> list[str]:
    """Placeholders that stand inside single or double quotes of the shell command."""
    found = []
    quote = ""
    for literal, name in pieces:
        escaped = False
        for char in literal:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "'":
                escaped = True
            elif quote:
                if char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
        if name is not None and quote:
            found.append(name)
    return found


def render(pieces: list[tuple[str, str | None]], values: dict[str, str]) -> str:
    """Substitute already-quoted values."""
    return "".join(literal + (values[name] if name is not None else "") for literal, name in pieces)
