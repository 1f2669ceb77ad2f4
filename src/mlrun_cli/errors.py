"""The MlrunError hierarchy: every failure a user can meet, each with its documented exit code.

The CLI catches ``MlrunError`` and prints ``error: <message>`` on one line, then exits with
``exit_code``. Anything else escaping the core is a bug and is shown with a traceback.
"""

from __future__ import annotations


class ExitCode:
    """Process exit codes, documented in the README. Stable: CI scripts depend on them."""

    OK = 0
    RUN_FAILED = 1
    USAGE = 2
    ENV = 3
    SOURCE = 4
    DATA = 5
    REPRODUCE_MISMATCH = 6
    INTERRUPTED = 130
    TERMINATED = 143


class MlrunError(Exception):
    """Base class: a clean, one-line, user-facing error."""

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class Terminated(KeyboardInterrupt):
    """SIGTERM turned into an exception (like SIGINT's KeyboardInterrupt), so cleanup runs."""


class UsageError(MlrunError):
    """Bad command-line input: a flag, a parameter value, a combination of options."""

    exit_code = ExitCode.USAGE


class SpecError(MlrunError):
    """A malformed MLproject, python_env.yaml or conda.yaml (file, key path, expected, found)."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        file: str,
        key_path: str,
        message: str,
        *,
        hint: str | None = None,
    ) -> None:
        where = f"{file}: {key_path}: " if key_path else f"{file}: "
        super().__init__(where + message, hint=hint)
        self.file = file
        self.key_path = key_path


class NotFoundError(MlrunError):
    """An experiment, run or other record that does not exist."""

    exit_code = ExitCode.USAGE


class StoreError(MlrunError):
    """The tracking store cannot be opened or is in a state mlrun cannot use."""

    exit_code = ExitCode.USAGE


class EnvError(MlrunError):
    """Building or finding a Python environment failed."""

    exit_code = ExitCode.ENV


class SourceError(MlrunError):
    """Resolving the project's code (git, folders) failed."""

    exit_code = ExitCode.SOURCE


class DataError(MlrunError):
    """Pinning or restoring DVC data failed."""

    exit_code = ExitCode.DATA
