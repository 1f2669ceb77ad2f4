"""Read an ``MLproject`` file exactly as MLflow defines it, and validate it strictly.

Format: ``name``, one of ``python_env`` / ``conda_env`` / ``docker_env``, and ``entry_points``
whose ``parameters`` have a ``type`` (float, int, string, bool, path, uri; default string) and an
optional ``default`` (required when absent), and whose ``command`` is a ``{param}`` template.
"""

from __future__ import annotations

import os
from pathlib import Path

from mlrun_cli.errors import UsageError
from mlrun_cli.spec._yaml import Node, describe, load_yaml
from mlrun_cli.spec.template import parse_template, unsafe_placeholders
from mlrun_cli.spec.values import PARAM_TYPES, convert
from mlrun_cli.tracking.record import Record

MLPROJECT = "MLproject"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"
_TOP_LEVEL_KEYS = ("name", "python_env", "conda_env", "docker_env", "entry_points")
_ENTRY_POINT_KEYS = ("parameters", "command")
_PARAMETER_KEYS = ("type", "default")


class ParameterSpec(Record):
    """A declared entry-point parameter. ``default`` is canonical text, or None if required."""

    name: str
    type: str = "string"
    default: str | None = None

    @property
    def required(self) -> bool:
        """A parameter with no default must be passed with ``-P``."""
        return self.default is None


class EntryPoint(Record):
    """A command template and its declared parameters (in declaration order)."""

    name: str
    command: str
    parameters: tuple[ParameterSpec, ...] = ()
    is_script: bool = False

    def parameter(self, name: str) -> ParameterSpec | None:
        """The declared parameter called ``name``, if any."""
        return next((p for p in self.parameters if p.name == name), None)


class EnvRef(Record):
    """Which environment file a project uses: ``python_env``, ``conda_env``, ``docker`` or none."""

    kind: str
    path: Path | None = None
    docker_image: str | None = None


class Project(Record):
    """A loaded project: its folder, entry points, environment reference and load warnings."""

    directory: Path
    name: str | None
    entry_points: dict[str, EntryPoint]
    env: EnvRef
    mlproject_path: Path | None = None
    warnings: tuple[str, ...] = ()

    def entry_point(self, name: str) -> EntryPoint:
        """The named entry point; an undeclared ``*.py`` / ``*.sh`` file runs as a script."""
        if name in self.entry_points:
            return self.entry_points[name]
        if name.endswith((".py", ".sh")):
            script = (self.directory / name).resolve()
            if not script.is_relative_to(self.directory.resolve()):
                raise UsageError(
                    f"entry point {name!r}: expected a file inside the project {self.directory}"
                )
            if not script.is_file():
                raise UsageError(f"entry point {name!r}: no such file in {self.directory}")
            # As MLflow: a .sh file runs with the user's $SHELL (bash when unset), taken as
            # command words ("/usr/bin/env bash" works).
            shell = os.environ.get("SHELL") or "bash"
            interpreter = "python" if name.endswith(".py") else shell
            return EntryPoint(name, f"{interpreter} {_quote(name)}", (), is_script=True)
        declared = sorted(self.entry_points)
        import difflib  # (only for a typo's hint)

        hint = difflib.get_close_matches(name, declared, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
        listing = ", ".join(declared) if declared else "none declared"
        raise UsageError(
            f"entry point {name!r} not found{suggestion}; expected one of: {listing}, "
            "or a .py / .sh file in the project"
        )


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def find_mlproject(directory: Path) -> Path | None:
    """``MLproject``, or any case variant of it (MLflow accepts ``mlproject``)."""
    exact = directory / MLPROJECT
    if exact.is_file():
        return exact
    try:
        names = sorted(p.name for p in directory.iterdir())
    except OSError:
        return None
    for name in names:
        if name.lower() == MLPROJECT.lower() and (directory / name).is_file():
            return directory / name
    return None


def load_project(directory: Path) -> Project:
    """Load the project in ``directory`` (which may have no MLproject at all)."""
    mlproject = find_mlproject(directory)
    if mlproject is None:
        return Project(directory, None, {}, _discover_env_file(directory))
    label = mlproject.name
    root = Node(load_yaml(mlproject, label), label)
    if root.value is None:
        raise root.error("the file is empty; expected a mapping with 'entry_points'")
    top = root.expect_mapping("a mapping with keys such as 'name' and 'entry_points'")
    warnings = _unknown_keys(root, top, _TOP_LEVEL_KEYS)
    name = root.child("name").expect_str() if top.get("name") is not None else None
    env = _env_ref(root, directory)
    entry_points: dict[str, EntryPoint] = {}
    if top.get("entry_points") is not None:
        eps = root.child("entry_points")
        for ep_name in eps.expect_mapping():
            entry_points[ep_name] = _entry_point(eps.child(ep_name), ep_name, warnings)
    from mlrun_cli.spec.yaml11 import default_surprises

    warnings.extend(default_surprises(mlproject.read_text(encoding="utf-8"), label, entry_points))
    return Project(directory, name, entry_points, env, mlproject, tuple(warnings))


def _unknown_keys(node: Node, body: dict[str, object], known: tuple[str, ...]) -> list[str]:
    """Warnings for keys MLflow would ignore too (we say so, with a likely intended key)."""
    warnings = []
    for key in body:
        if key not in known:
            import difflib  # (only for a typo's hint)

            match = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {match[0]!r}?)" if match else ""
            warnings.append(f"{node.file}: {node.child(key).path}: unknown key ignored{hint}")
    return warnings


def _env_ref(root: Node, directory: Path) -> EnvRef:
    top = root.expect_mapping()
    declared = [k for k in ("python_env", "conda_env", "docker_env") if top.get(k) is not None]
    if len(declared) > 1:
        raise root.error(
            f"expected at most one of python_env, conda_env, docker_env; got {declared}"
        )
    if not declared:
        return _discover_env_file(directory)
    key = declared[0]
    node = root.child(key)
    if key == "docker_env":
        image = node.child("image").expect_str("an image name")
        return EnvRef("docker", None, image)
    relative = node.expect_str("a path to an environment file")
    path = directory / relative
    if not path.is_file():
        raise node.error(f"expected an existing file; got {relative!r} (no such file)")
    return EnvRef(key, path)


def _discover_env_file(directory: Path) -> EnvRef:
    """MLflow's order when MLproject names no environment: python_env.yaml, then conda.yaml."""
    if (directory / PYTHON_ENV_FILE).is_file():
        return EnvRef("python_env", directory / PYTHON_ENV_FILE)
    if (directory / CONDA_ENV_FILE).is_file():
        return EnvRef("conda_env", directory / CONDA_ENV_FILE)
    return EnvRef("none")


def _entry_point(node: Node, name: str, warnings: list[str]) -> EntryPoint:
    body = node.expect_mapping("a mapping with 'command' and optional 'parameters'")
    warnings.extend(_unknown_keys(node, body, _ENTRY_POINT_KEYS))
    if body.get("command") is None:
        import difflib  # (only for a typo's hint)

        typo = difflib.get_close_matches("command", [k for k in body if k != "command"], n=1)
        if typo:
            raise node.child("command").error(
                f"expected a command string; found {typo[0]!r} (did you mean 'command'?)"
            )
    command = node.child("command").expect_str("a command string")
    parameters: list[ParameterSpec] = []
    if body.get("parameters") is not None:
        params_node = node.child("parameters")
        for param_name in params_node.expect_mapping():
            parameters.append(_parameter(params_node.child(param_name), param_name, warnings))
    declared = {p.name for p in parameters}
    for field_name in _template_fields(node.child("command"), command):
        if field_name not in declared:
            listing = ", ".join(p.name for p in parameters) or "none"
            raise node.child("command").error(
                f"{{{field_name}}} is not a declared parameter; declared: {listing}"
            )
    return EntryPoint(name, command, tuple(parameters))


def _template_fields(node: Node, command: str) -> list[str]:
    try:
        pieces = parse_template(command)
    except ValueError as exc:
        raise node.error(
            f"invalid template ({exc}); write literal braces as {{{{ and }}}}"
        ) from None
    unsafe = unsafe_placeholders(pieces)
    if unsafe:
        name, where = unsafe[0]
        fix = {"quotes": "remove the quotes around it", "backticks": "use $(...) instead",
               "a backslash escape": "remove the backslash before it"}.get(
            where, "pass it as an argument")  # fmt: skip
        raise node.error(
            f"{{{name}}} stands inside {where}; mlrun shell-quotes values itself: {fix}"
        )
    return [name for _, name in pieces if name is not None]


def _parameter(node: Node, name: str, warnings: list[str]) -> ParameterSpec:
    if isinstance(node.value, str):
        # Shorthand: ``alpha: float``.
        type_node, default_node = node, Node(None, node.file, node.path)
    elif node.value is None:
        raise node.error(f"expected a type ({', '.join(PARAM_TYPES)}) or a mapping; got nothing")
    else:
        body = node.expect_mapping("a type name or a mapping with 'type' and 'default'")
        warnings.extend(_unknown_keys(node, body, _PARAMETER_KEYS))
        type_node = node.child("type")
        default_node = node.child("default")
    type_name = "string" if type_node.value is None else type_node.value
    if type_name not in PARAM_TYPES:
        raise type_node.error(
            f"expected one of {', '.join(PARAM_TYPES)}; got {describe(type_name)}"
        )
    default = None
    if default_node.value is not None:
        raw = default_node.value
        if isinstance(raw, (dict, list)):
            raise default_node.error(f"expected a {type_name} value; got {describe(raw)}")
        text = str(raw)  # as MLflow: an unquoted YAML true reaches the command as "True"
        try:
            default = convert(type_name, text)
        except ValueError as exc:
            raise default_node.error(f"{exc}; got {describe(raw)}") from None
    return ParameterSpec(name, str(type_name), default)
