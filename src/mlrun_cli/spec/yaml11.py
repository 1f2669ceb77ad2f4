"""YAML 1.1 surprises in parameter defaults: unquoted words and numbers PyYAML (as MLflow)
reads differently from how they look (``yes`` is true, ``010`` is 8, ``1:30`` is 90)."""

from __future__ import annotations

import re

_DEFAULT = re.compile(r"(?:^|[{,\s])default:\s+([^\s,}#'\"\[{][^,}#\n]*?)\s*(?=$|[,}#])", re.M)
_BOOL_WORDS = re.compile(r"^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$")
_INT_SURPRISE = re.compile(
    r"^[-+]?(?:0o?[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+)$"
)


def default_surprises(text: str, label: str) -> list[str]:
    """One warning per ``default:`` whose unquoted value YAML 1.1 reads as something else."""
    warnings = []
    for match in _DEFAULT.finditer(text):
        literal = match.group(1)
        if not (_BOOL_WORDS.match(literal) or _INT_SURPRISE.match(literal)):
            continue
        import yaml  # only for the rare surprise: a cached spec needs no YAML parser

        line = text.count("\n", 0, match.start(1)) + 1
        value = yaml.safe_load(literal)
        shown = str(value).lower() if isinstance(value, bool) else repr(value)
        kind = "boolean" if isinstance(value, bool) else type(value).__name__
        warnings.append(
            f"{label}: line {line}: default: {literal} is read by YAML 1.1 as the {kind} "
            f'{shown}; quote it (default: "{literal}") if you meant the text {literal!r}'
        )
    return warnings
