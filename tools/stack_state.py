"""What the project's stacks say about images: their stack files and, through the Pulumi CLI, their state.

Every read that fails raises `StateError` naming the stack: a caller that would delete
an image must stop rather than take a stack it could not read for one that uses nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT = "immutable-web"
CLI_TIMEOUT_SECONDS = 300


class StateError(Exception):
    """A stack's file or state could not be read; the message names the stack."""


@dataclass(frozen=True)
class StackFile:
    """The settings of `Pulumi.<stack>.yaml` that name images, with Pulumi.yaml's defaults."""

    stack: str
    config: dict[str, Any]

    def get(self, key: str, default: str = "") -> str:
        value = self.config.get(key if ":" in key else f"{PROJECT}:{key}")
        return default if value is None else str(value)

    @property
    def app_name(self) -> str:
        return self.get("appName", "hello")

    @property
    def cloud(self) -> str:
        return self.get("cloud", "digitalocean")

    @property
    def baking(self) -> bool:
        return self.get("imageMode", "bake") == "bake"

    @property
    def region(self) -> str:
        return self.get("aws:region") if self.cloud == "aws" else self.get("region")


def stack_names(project_dir: Path) -> list[str]:
    """The stacks with a stack file in ``project_dir``."""
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))


def read_stack_file(project_dir: Path, stack: str) -> StackFile:
    path = project_dir / f"Pulumi.{stack}.yaml"
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise StateError(f"stack {stack}: cannot read {path.name}: {error}") from None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StateError(f"stack {stack}: {path.name} has no `config:` mapping")
    return StackFile(stack, config)


def pulumi_cli() -> str:
    found = shutil.which("pulumi")
    if found is None:
        raise StateError('the Pulumi CLI is not on PATH: install it (README), or PATH="$(./scripts/bootstrap-pulumi):$PATH"')
    return found


def _pulumi(project_dir: Path, what: str, *args: str) -> str:
    try:
        result = subprocess.run([pulumi_cli(), "--non-interactive", *args], cwd=project_dir, capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise StateError(f"{what}: `pulumi {' '.join(args)}` did not finish in {CLI_TIMEOUT_SECONDS} s") from None
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["(no message)"]
        raise StateError(f"{what}: `pulumi {' '.join(args)}` failed: {last[0]}")
    return result.stdout


def deployed_stacks(project_dir: Path, known: list[str]) -> list[str]:
    """The project's stacks the backend holds (`pulumi stack ls --json`).

    The CLI reads every stack's state to list them, so one broken state fails the listing:
    then each of the ``known`` stacks is exported alone, to name the one that cannot be read.
    """
    try:
        listing = _pulumi(project_dir, "the backend's stacks", "stack", "ls", "--json")
    except StateError as listing_failed:
        for stack in known:
            export_state(project_dir, stack, missing_ok=True)
        raise listing_failed from None
    try:
        return sorted(str(entry["name"]).rsplit("/", 1)[-1] for entry in json.loads(listing))
    except (ValueError, KeyError, TypeError) as error:
        raise StateError(f"the backend's stacks: `pulumi stack ls --json` printed no stack list ({error})") from None


def export_state(project_dir: Path, stack: str, *, missing_ok: bool = False) -> dict[str, Any]:
    """The stack's state (`pulumi stack export`; secrets stay encrypted: no image id is secret)."""
    try:
        text = _pulumi(project_dir, f"stack {stack}", "stack", "export", "--stack", stack)
    except StateError as error:
        if missing_ok and f"no stack named '{stack}' found" in str(error):
            return {"deployment": {}}
        raise
    try:
        document = json.loads(text)
    except ValueError as error:
        raise StateError(f"stack {stack}: `pulumi stack export` printed no JSON ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("deployment"), dict):
        raise StateError(f"stack {stack}: the export holds no deployment")
    return document
