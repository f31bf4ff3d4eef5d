"""States made by the real CLI: `pulumi stack export` of a fresh stack, its resources replaced, `pulumi stack import`.

The CLI checks an import (its manifest's magic cookie, the secrets provider, every URN and
parent), so a state made this way is one the CLI itself reads back; only the resources are
written by hand, as `pulumi up` would have recorded them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STACK_TYPE = "pulumi:pulumi:Stack"


def urn(stack: str, type_token: str, name: str) -> str:
    return f"urn:pulumi:{stack}::immutable-web::{type_token}::{name}"


def stack_resource(stack: str, outputs: dict[str, Any]) -> dict[str, Any]:
    return {"urn": urn(stack, STACK_TYPE, f"immutable-web-{stack}"), "custom": False, "type": STACK_TYPE, "outputs": outputs}


def child(stack: str, type_token: str, name: str, *, custom: bool, outputs: dict[str, Any], inputs: dict[str, Any] | None = None, resource_id: str | None = None) -> dict[str, Any]:
    resource = {"urn": urn(stack, type_token, name), "custom": custom, "type": type_token, "inputs": inputs or {}, "outputs": outputs, "parent": urn(stack, STACK_TYPE, f"immutable-web-{stack}")}
    if resource_id is not None:
        resource["id"] = resource_id
    return resource


def import_state(workspace: Any, stack: str, resources: list[dict[str, Any]]) -> None:
    exported = json.loads(workspace.ok("stack", "export", "--stack", stack))
    exported["deployment"]["resources"] = resources
    path: Path = workspace.path / f"{stack}-deployment.json"
    path.write_text(json.dumps(exported))
    workspace.ok("stack", "import", "--file", str(path), "--stack", stack)
