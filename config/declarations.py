"""The config keys `Pulumi.yaml` declares: the one place their types, defaults and secretness are written.

The Pulumi CLI hands the program each declared default when a stack does not
set the key; the settings reader (``config.values``) falls back to the same
declarations when it is given a plain dict, and the offline harness
(``offline.stack_config``) merges them as the CLI does. So a default is
written once, in `Pulumi.yaml`, and read by all three. A key declared without
a default is required.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"


@dataclass(frozen=True, kw_only=True)
class Declaration:
    type: str
    """string | integer | boolean | array (the Pulumi.yaml schema types)."""
    default: str | None
    """The default as the CLI hands it over (a string; arrays as JSON), or None: the key is required."""
    secret: bool
    description: str


def as_config_string(value: Any) -> str:
    """A config value as the Pulumi CLI hands it to the program: a string, structured values as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def declarations_of(project: Mapping[str, Any]) -> dict[str, Declaration]:
    """Each key of a parsed `Pulumi.yaml`'s `config:` section, by its short name."""
    declared: dict[str, Declaration] = {}
    for key, declaration in (project.get("config") or {}).items():
        spec = declaration if isinstance(declaration, dict) else {"default": declaration}
        declared[key] = Declaration(
            type=str(spec.get("type", "string")),
            default=as_config_string(spec["default"]) if "default" in spec else None,
            secret=bool(spec.get("secret", False)),
            description=str(spec.get("description", "")),
        )
    return declared


@cache
def declarations() -> Mapping[str, Declaration]:
    """This project's declared keys (read once from `Pulumi.yaml`, next to the program)."""
    return declarations_of(yaml.safe_load(PROJECT_FILE.read_text()))
