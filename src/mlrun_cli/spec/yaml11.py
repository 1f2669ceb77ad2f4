"""YAML 1.1 surprises in parameter defaults: unquoted values PyYAML (as MLflow) reads otherwise
than they look, judged by the parameter's type.

- string parameters: any plain scalar whose text changes (``yes`` -> "True", ``1.10`` -> "1.1",
  ``010`` -> "8", ``+1`` -> "1", ``1:30`` -> "90");
- numbers: octal (``010`` is 8) and sexagesimal (``1:30`` is 90) forms.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import yaml

    from mlrun_cli.spec.mlproject import EntryPoint

_SURPRISING_NUMBER = re.compile(r"^[-+]?(?:0[0-9_]+|[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9]*)?)$")


def default_surprises(text: str, label: str, entry_points: dict[str, EntryPoint]) -> list[str]:
    """One warning per parameter default whose unquoted text YAML 1.1 reads as something else."""
    if "default" not in text:
        return []
    import yaml

    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return []  # already reported by the loader
    warnings = []
    for ep_name, name, node in _default_nodes(root):
        entry_point = entry_points.get(ep_name)
        spec = next((p for p in entry_point.parameters if p.name == name), None) if entry_point \
            else None  # fmt: skip
        if spec is None or node.style:  # quoted ("" or None is plain): read as written
            continue
        literal = node.value
        value = yaml.safe_load(literal)
        if isinstance(value, str):
            continue
        surprising = str(value) != literal if spec.type == "string" else (
            spec.type in ("int", "float") and bool(_SURPRISING_NUMBER.match(literal))
        )  # fmt: skip
        if surprising:
            read = f"the boolean {value}" if isinstance(value, bool) else f"the number {value!r}"
            warnings.append(
                f"{label}: line {node.start_mark.line + 1}: entry_points.{ep_name}.parameters."
                f"{name}.default: {literal} is read by YAML 1.1 as {read}; quote it "
                f'(default: "{literal}") if you meant the text {literal!r}'
            )
    return warnings


def _mapping(node: yaml.Node | None, key: str) -> yaml.Node | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            found: yaml.Node = value_node
            return found
    return None


def _default_nodes(root: yaml.Node | None) -> list[tuple[str, str, yaml.ScalarNode]]:
    import yaml

    found: list[tuple[str, str, yaml.ScalarNode]] = []
    entry_points = _mapping(root, "entry_points")
    if not isinstance(entry_points, yaml.MappingNode):
        return found
    for ep_key, ep_node in entry_points.value:
        parameters = _mapping(ep_node, "parameters")
        if not isinstance(parameters, yaml.MappingNode):
            continue
        for param_key, param_node in parameters.value:
            default = _mapping(param_node, "default")
            if isinstance(default, yaml.ScalarNode):
                found.append((str(ep_key.value), str(param_key.value), default))
    return found
