"""MLproject command templates: ``python train.py --alpha {alpha}``.

Placeholders are filled by plain substitution (not ``str.format``, which would read ``{a.b}`` as
an attribute and ``{0}`` as a position). Values are shell-quoted by mlrun, so a placeholder
inside quotes or a heredoc in the template is refused: inside double quotes or an unquoted
heredoc ``$(...)`` in a value would run.
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
    """Placeholders that stand inside quotes or a heredoc of the shell command."""
    return [name for name, _ in unsafe_placeholders(pieces)]


def unsafe_placeholders(pieces: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
    """(placeholder, where) for every placeholder a shell-quoted value would not protect:
    inside single or double quotes or backticks, right after a backslash (which escapes the
    value's opening quote), or in a heredoc's body (or as its delimiter), where ``$(...)``
    in an unquoted-delimiter heredoc runs and quotes are kept literally."""
    return _Scanner().scan(pieces)


class _Scanner:
    """A small shell lexer: quotes, backslashes, comments and heredocs (``<<``, ``<<-``)."""

    def __init__(self) -> None:
        self.quote = ""
        self.escaped = False
        self.pending: list[tuple[str, bool]] = []  # heredocs opened on this line: (delim, strip)
        self.body: list[tuple[str, bool]] = []  # heredocs whose bodies are being read
        self.line = ""
        self.delimiter: str | None = None  # a delimiter word being read after << / <<-
        self.strip_tabs = False
        self.found: list[tuple[str, str]] = []
        self.backtick = False
        self.arithmetic = 0
        self.prev = "\n"  # the character before the current one ("x" for a placeholder)
        self.word = ""  # the unquoted word being read
        self.command: str | None = None  # the current simple command's first word
        self.at_start = True  # the next word is a command name

    def scan(self, pieces: list[tuple[str, str | None]]) -> list[tuple[str, str]]:
        for literal, name in pieces:
            index = 0
            while index < len(literal):
                index = self._char(literal, index)
            if name is not None:
                self._placeholder(name)
        return self.found

    def _placeholder(self, name: str) -> None:
        if self.body or self.delimiter is not None:
            self.found.append((name, "a heredoc"))
        elif self.quote:
            self.found.append((name, "quotes"))
        elif self.backtick:
            self.found.append((name, "backticks"))
        elif self.arithmetic:
            self.found.append((name, "an arithmetic expression"))
        elif self.escaped:
            # `\{x}` escapes the opening quote of the quoted value: the value would run.
            self.found.append((name, "a backslash escape"))
            self.escaped = False
        elif self.command in _EVALUATING:
            # These evaluate a word as arithmetic or an array subscript, where
            # `a[$(cmd)]` runs cmd even from a quoted value.
            self.found.append((name, f"an argument of {self.command!r}"))
        self._end_word()
        self.at_start = False
        self.line += "\0"  # a placeholder never ends a heredoc body line
        self.prev = "x"

    def _char(self, text: str, index: int) -> int:
        before = self.prev
        after = self._step(text, index)
        if after > index:
            # A backslash-newline is a line continuation: the word goes on as if it were not.
            continued = text[after - 1] == "\n" and self.prev == "\\"
            self.prev = before if continued else text[after - 1]
        return after

    def _step(self, text: str, index: int) -> int:
        char = text[index]
        if self.body:
            return self._body_char(char, index)
        if self.delimiter is not None:
            return self._delimiter_char(text, index)
        if self.escaped:
            self.escaped = False
            if char == "\n":
                self.prev = "\\"  # marks the continuation for _char
                return index + 1
        elif char == "\\" and self.quote != "'":
            self.escaped = True
            return index + 1
        elif char == "`":
            # Quotes do not protect a backtick inside `...`: the value's own would end it.
            # (Counted inside quotes too: conservative for a rare literal backtick.)
            self.backtick = not self.backtick
        elif self.quote:
            if char == self.quote:
                self.quote = ""
        elif char in "'\"":
            self.quote = char
        else:
            return self._unquoted(text, index)
        return index + 1

    def _end_word(self) -> None:
        if self.word and self.at_start and self.word not in _KEYWORDS:
            self.command, self.at_start = self.word, False
        self.word = ""

    def _unquoted(self, text: str, index: int) -> int:
        """Arithmetic, comments, here-strings, heredocs, command words: outside quotes only."""
        char = text[index]
        if self.arithmetic and (text.startswith("))", index) or text.startswith("]]", index)):
            self.arithmetic -= 1
            return index + 2
        if self.arithmetic and char == "]" and self.prev != "]":
            self.arithmetic -= 1  # the end of $[...]
            return index + 1
        if text.startswith(("((", "$[", "[["), index):
            # $((...)), ((...)), the old $[...] and [[...]] evaluate arithmetic (and array
            # subscripts) in their words: $(...) there runs even from a quoted value.
            self.arithmetic += 1
            return index + 2
        if char in " \t":
            self._end_word()
            return index + 1
        if char in "\n;&|(){}!":
            self._end_word()
            self.command, self.at_start = None, True
        elif char.isalnum() or char in "_-.[":
            self.word += char
        if char == "#" and self.prev in " \t\n;&|(":
            end = text.find("\n", index)
            return len(text) if end < 0 else end  # a comment: nothing in it counts
        if text.startswith("<<<", index):
            return index + 3  # a here-string is one ordinary (quoted) word
        if text.startswith("<<", index):
            strip = text.startswith("<<-", index)
            self.delimiter, self.strip_tabs = "", strip
            return index + (3 if strip else 2)
        if char == "\n" and self.pending:
            self.body, self.pending, self.line = self.pending, [], ""
        return index + 1

    def _delimiter_char(self, text: str, index: int) -> int:
        char = text[index]
        assert self.delimiter is not None  # noqa: S101 - only called while reading one
        if char in " \t" and not self.delimiter:
            return index + 1
        if char in " \t\n;|&<>()" and not self.quote:
            self.pending.append((self.delimiter, self.strip_tabs))
            self.delimiter = None
            return index  # the character is handled as ordinary shell text
        if char in "'\"" and (not self.quote or char == self.quote):
            self.quote = "" if self.quote else char
        elif char != "\\" or self.quote:
            self.delimiter += char
        return index + 1

    def _body_char(self, char: str, index: int) -> int:
        if char != "\n":
            self.line += char
            return index + 1
        delimiter, strip = self.body[0]
        if (self.line.lstrip("\t") if strip else self.line) == delimiter:
            self.body.pop(0)
        self.line = ""
        return index + 1


# Builtins that evaluate an argument as arithmetic or as an array subscript.
_EVALUATING = frozenset({
    "let", "declare", "typeset", "local", "readonly", "export", "read", "printf", "test", "[",
    "unset", "mapfile", "readarray", "eval",
})  # fmt: skip
_KEYWORDS = frozenset({"then", "do", "else", "elif", "if", "while", "until", "time", "!"})


def render(pieces: list[tuple[str, str | None]], values: dict[str, str]) -> str:
    """Substitute already-quoted values."""
    return "".join(literal + (values[name] if name is not None else "") for literal, name in pieces)
