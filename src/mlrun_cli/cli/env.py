"""``mlrun env ...``: list, show, build, remove and prune cached environments."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli._options import JsonOption, WideOption
from mlrun_cli.cli._output import CliReporter, format_time, handle_errors, info, print_json

if TYPE_CHECKING:
    from mlrun_cli.envs.cache import Lease

app = typer.Typer(help="Manage the cache of isolated Python environments.", no_args_is_help=True)


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


@app.command("list")
@handle_errors
def list_command(json_output: JsonOption = False, wide: WideOption = False) -> None:
    """List cached environments: key, python, size, last use, projects."""
    from mlrun_cli.cli._table import Table, print_table
    from mlrun_cli.envs.cache import list_envs

    envs = list_envs()
    if json_output:
        print_json({"environments": [
            {"key": e.key, "path": str(e.root), "complete": e.complete,
             "python": e.metadata.get("python"), "builder": e.metadata.get("builder"),
             "size": e.size, "last_used": e.last_used, "projects": list(e.projects)}
            for e in envs
        ]})  # fmt: skip
        return
    from mlrun_cli.cli._columns import short_hash
    from mlrun_cli.cli._places import project_place

    headers = ["key", "python", "builder", "size", "last used", "projects"]
    table = Table(headers, right={3}, fixed={0, 1, 3, 4}, paths={5})
    for env in envs:
        # To the minute, as `runs search` shows times: the room goes to the projects' paths.
        last = format_time(int(env.last_used * 1000))[:16] if env.last_used else "incomplete"
        table.add_row(
            short_hash(env.key),
            str(env.metadata.get("python", "?")),
            str(env.metadata.get("builder", "?")),
            _human_size(env.size),
            last,
            _projects_cell([project_place(p) for p in env.projects], wide),
        )
    print_table(table, wide=wide)


def _projects_cell(places: list[str], wide: bool) -> str:
    """Every project with ``--wide``; else the newest and how many more (``(+2 more: --wide)``):
    a path cut in its middle must not hide that there are others."""
    if wide or len(places) < 2:
        return ", ".join(places) or "-"
    return f"{places[-1]} (+{len(places) - 1} more: --wide)"


@app.command("show")
@handle_errors
def show(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="Environment key (or a unique prefix).")
    ],
) -> None:
    """Print an environment's lock (its exact packages)."""
    from mlrun_cli.envs.cache import read_lock, resolve_key

    typer.echo(read_lock(resolve_key(key)), nl=False)


@app.command("rm")
@handle_errors
def rm(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="Environment key (or a unique prefix).")
    ],
) -> None:
    """Remove one environment (refused while a run uses it)."""
    from mlrun_cli.envs.cache import remove, resolve_key
    from mlrun_cli.errors import EnvError

    full = resolve_key(key)
    if not remove(full):
        raise EnvError(f"environment {full} is in use by a running run; not removed")
    info(f"removed environment {full}")


@app.command("prune")
@handle_errors
def prune(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than", metavar="AGE", help="Remove envs unused this long (30d, 12h, 90m)."
        ),
    ] = "30d",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go.")] = False,
) -> None:
    """Remove envs unused for a while and leftovers of interrupted builds."""
    from mlrun_cli.envs.cache import parse_age
    from mlrun_cli.envs.cache import prune as prune_envs

    chosen = prune_envs(parse_age(older_than), dry_run)
    verb = "would remove" if dry_run else "removed"
    for env, reason in chosen:
        typer.echo(f"{verb} {env.key} ({_human_size(env.size)}, {reason})")
    total = sum(env.size for env, _ in chosen)
    info(f"{verb} {len(chosen)} environment(s), {_human_size(total)}")


@app.command("build")
@handle_errors
def build(
    uri: Annotated[
        str, typer.Argument(metavar="PROJECT", help="Project folder whose environment to build.")
    ] = ".",
    env_manager: Annotated[
        str, typer.Option("--env-manager", metavar="[uv|virtualenv]", help="The builder.")
    ] = "uv",
    from_lock: Annotated[
        Path | None,
        typer.Option(
            "--from-lock",
            metavar="FILE",
            help="Build exactly this lock file (no resolution).",
            show_default=False,
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Build (or reuse) an environment, from a project or from a lock file."""
    from mlrun_cli.envs.base import LOCAL, check_env_manager
    from mlrun_cli.envs.lock import parse_lock
    from mlrun_cli.envs.provision import provision, provision_from_lock
    from mlrun_cli.errors import EnvError, UsageError

    if check_env_manager(env_manager) == LOCAL:
        raise UsageError("--env-manager: expected uv or virtualenv (local builds nothing)")
    reporter = CliReporter()
    lease: Lease | None
    if from_lock is not None:
        try:
            text = from_lock.read_text()
        except OSError as exc:
            raise EnvError(f"--from-lock {from_lock}: cannot read: {exc.strerror}") from exc
        env, lease = provision_from_lock(env_manager, parse_lock(text, str(from_lock)), reporter)
    else:
        from mlrun_cli.execution.runner import load_env_spec
        from mlrun_cli.source.local import local_checkout
        from mlrun_cli.spec.mlproject import load_project

        project = load_project(local_checkout(uri).path)
        spec = load_env_spec(project, reporter)
        env, lease = provision(env_manager, spec, project.directory, reporter)
    if lease is not None:
        lease.release()
    assert env.lock is not None  # noqa: S101 - isolated envs always have a lock
    if json_output:
        print_json({"key": env.key, "path": str(env.root), "python": env.python_version,
                    "lock_sha256": env.lock.sha256, "lock": env.lock.text})  # fmt: skip
    else:
        summary = f"Python {env.python_version}, {len(env.lock.packages)} packages"
        typer.echo(f"{env.key}  {env.root}  ({summary}, lock sha256 {env.lock.sha256[:12]})")
