"""Command groups that build their click commands on first use.

typer turns every command into a click command up front, evaluating each function's (string)
annotations: ~45 ms for the whole tree on every call. Here a group knows its commands by name and
one-line summary only, and converts (imports, evaluates) the one that is invoked. ``--help``
lists the summaries without converting anything.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from typer.core import TyperGroup

if TYPE_CHECKING:
    import typer
    from typer import _click
    from typer.models import CommandInfo

Loader = Callable[[], "_click.Command"]


class LazyCommands(MutableMapping[str, "_click.Command"]):
    """Name -> click command, each built by its loader when first looked up."""

    def __init__(self, loaders: dict[str, Loader]) -> None:
        self._loaders = dict(loaders)
        self._built: dict[str, _click.Command] = {}

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self._built:
            self._built[name] = self._loaders[name]()
        return self._built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._loaders.setdefault(name, lambda: command)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._loaders[name]
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)


class LazyGroup(TyperGroup):
    """A typer group whose commands are :class:`LazyCommands` and whose help lists summaries."""

    summaries: dict[str, str]

    def list_commands(self, ctx: _click.Context) -> list[str]:
        """The names, in order (typer's own walks ``items()``, which would build them all)."""
        return list(self.commands)

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The command list from the summaries alone (nothing is imported for ``--help``)."""
        names = self.list_commands(ctx)
        rows = [(name, self.summaries[name]) for name in names if name in self.summaries]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def summary(callback: Callable[..., Any]) -> str:
    """The first line of a command's docstring."""
    return (callback.__doc__ or "").strip().splitlines()[0] if callback.__doc__ else ""


def command_from_info(info: CommandInfo) -> _click.Command:
    """One typer command as a click command (its annotations are evaluated now); required
    arguments read ``URI`` in its usage line, not typer's ``{URI}``."""
    from typer.core import TyperArgument
    from typer.main import get_command_from_info

    command = get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=None)
    for param in command.params:
        if type(param) is TyperArgument:
            param.__class__ = _plain_argument_class()
    return command


@functools.cache
def _plain_argument_class() -> type:
    from typer.core import TyperArgument

    class PlainArgument(TyperArgument):
        """A typer argument whose usage metavar is the plain one (``URI``, ``[RUN_ID]``)."""

        def make_metavar(self, ctx: _click.Context, *, usage: bool = False) -> str:
            shown = super().make_metavar(ctx, usage=usage)
            return shown[1:-1] if shown.startswith("{") and shown.endswith("}") else shown

    return PlainArgument


def group_from_typer(name: str, app: typer.Typer) -> LazyGroup:
    """A typer sub-app (commands only, no callback) as a lazily converted click group."""
    infos = {info.name or info.callback.__name__: info for info in app.registered_commands}  # type: ignore[union-attr]
    help_text = app.info.help if isinstance(app.info.help, str) else None
    group = LazyGroup(
        name=name,
        commands=LazyCommands({key: _loader(info) for key, info in infos.items()}),  # type: ignore[arg-type]
        no_args_is_help=True,
        help=help_text,
        rich_markup_mode=None,
    )
    group.summaries = {
        key: info.short_help or summary(info.callback)  # type: ignore[arg-type]
        for key, info in infos.items()
        if not info.hidden
    }
    return group


def _loader(info: CommandInfo) -> Loader:
    return lambda: command_from_info(info)


def load(module: str, attribute: str, name: str) -> _click.Command:
    """Import ``module`` and make a click command of its ``attribute`` (a typer app = a group;
    a click command is used as it is)."""
    import typer
    from typer import _click
    from typer.models import CommandInfo

    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, _click.Command):
        return target  # a group with its own callback and subgroups (``mlrun server``)
    if isinstance(target, typer.Typer):
        return group_from_typer(name, target)
    assert isinstance(target, CommandInfo)  # noqa: S101 - the table in app.py is static
    return command_from_info(target)
