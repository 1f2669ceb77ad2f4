"""Parameter types and their canonical text form (what is recorded and what the command gets)."""

from __future__ import annotations

import math
import re
from urllib.parse import urlparse

PARAM_TYPES = ("float", "int", "string", "bool", "path", "uri")
_INT = re.compile(r"^[+-]?[0-9]+$")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def convert(type_name: str, text: str) -> str:
    """Validate ``text`` as ``type_name`` and return its canonical text.

    Raises ValueError whose message says what was expected (the caller adds where and what).
    ``path`` values are returned unchanged here: resolving them needs a base directory.
    """
    if type_name == "float":
        try:
            number = float(text)
        except ValueError:
            raise ValueError("expected a float") from None
        return repr(number) if not math.isnan(number) else "nan"
    if type_name == "int":
        stripped = text.strip()
        if not _INT.match(stripped):
            raise ValueError("expected an int")
        return str(int(stripped))
    if type_name == "bool":
        # Validated, but passed and recorded as written, as MLflow does: code that reads
        # ``int(sys.argv[1])`` for ``-P flag=1`` must get "1".
        if text.strip().lower() in (*_TRUE, *_FALSE):
            return text
        raise ValueError("expected a bool (true/false, yes/no, 1/0, on/off)")
    if type_name == "uri":
        scheme = urlparse(text).scheme
        # One-letter "schemes" are Windows drive letters, not URIs.
        if len(scheme) < 2:
            raise ValueError("expected a uri with a scheme (such as s3://, https://, file://)")
        return text
    return text
