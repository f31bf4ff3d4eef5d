"""The plan document: what the program registers under mocks, as stable JSON with every secret masked.

Secrets are found by their recorded secretness, never by what a value looks
like: secret config keys (declared `secret: true` or set with `--secret`),
outputs a provider marks secret (a database password), and inputs the program
passes as secrets. Their values are masked wherever they appear.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

SCHEMA = "immutable-web/plan/v1"
MASK = "[secret]"


class NotAPlan(ValueError):  # noqa: N818 - reads as what the file is; renaming would change the module's API
    """A file that is not a plan document `plan diff` can read."""


def _mask(value: Any, secrets: Iterable[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: _mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, secrets) for v in value]
    return value


def _contains_mask(value: Any) -> bool:
    if isinstance(value, str):
        return MASK in value
    if isinstance(value, dict):
        return any(_contains_mask(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_mask(v) for v in value)
    return False


def secret_config_keys(project: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> set[str]:
    """Config keys that are secret: declared `secret: true` in Pulumi.yaml, or set as secrets in the stack."""
    declared = project.get("config", {}) or {}
    keys = {f"{project['name']}:{k}" for k, d in declared.items() if isinstance(d, dict) and d.get("secret")}
    return keys | set(secret_keys)


def secret_values(run, secret_keys: Iterable[str]) -> list[str]:
    """Every value that is secret in this run: secret config, and the secret outputs providers made.

    An output that echoes one of the resource's own inputs is left out: it is
    built from secrets already in this list (a droplet's user-data holds the
    database password), and masking it whole would hide what is not secret.
    """
    values = {run.config[key] for key in secret_keys if key in run.config}
    for resource in run.resources:
        for key in resource.secret_outputs - resource.inputs.keys():
            value = resource.outputs.get(key)
            if isinstance(value, str):
                values.add(value)
    # Longest first, so a secret that contains another is masked whole.
    return sorted((v for v in values if v), key=len, reverse=True)


def decoded_user_data(value: str) -> str | None:
    """The text of base64 user-data (an AWS launch template's); None when ``value`` is not base64 of UTF-8 text (DigitalOcean's is the text itself)."""
    if not value or value.lstrip().startswith("#"):
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _masked_inputs(resource, secrets: list[str]) -> dict[str, Any]:
    inputs = _mask(resource.inputs, secrets)
    text = decoded_user_data(inputs["userData"]) if isinstance(inputs.get("userData"), str) else None
    if text is not None:
        # Base64 hides a secret from a search of the encoded text: mask the decoded text, then encode it again.
        inputs["userData"] = base64.b64encode(_mask(text, secrets).encode()).decode()
    for key in resource.secret_inputs:
        # A secret input with no known secret in it (a literal made secret by the program): mask it whole.
        if key in inputs and not _contains_mask(inputs[key]):
            inputs[key] = MASK
    return inputs


def plan_document(run, project: Mapping[str, Any], secret_keys: Iterable[str] = (), *, mask: bool = True) -> dict[str, Any]:
    """The plan document of one recorded run (offline.harness.StackRun).

    ``mask=False`` keeps secret values, for a local consumer that must see a secret change
    (the rollout rehearsal: a rotated password replaces droplets); never print such a document.
    """
    keys = secret_config_keys(project, secret_keys)
    secrets = secret_values(run, keys) if mask else []
    resources = []
    for resource in run.resources:
        resources.append(
            {
                "urn": resource.urn,
                "type": resource.type,
                "name": resource.name,
                "parent": resource.parent,
                "custom": resource.custom,
                "inputs": _masked_inputs(resource, secrets) if mask else resource.inputs,
                "secretInputs": sorted(resource.secret_inputs),
                "dependsOn": sorted(resource.options["dependencies"]),
                "options": {
                    "protect": resource.options["protect"],
                    "deleteBeforeReplace": resource.options["delete_before_replace"],
                    "replaceOnChanges": resource.options["replace_on_changes"],
                    "retainOnDelete": resource.options["retain_on_delete"],
                    "customTimeouts": resource.options["custom_timeouts"],
                },
            }
        )
    outputs = _mask({k: run.outputs[k] for k in sorted(run.outputs)}, secrets)
    for key in run.secret_outputs if mask else ():
        if not _contains_mask(outputs[key]):
            outputs[key] = MASK
    return {
        "schema": SCHEMA,
        "project": project["name"],
        "stack": run.stack,
        "config": {key: (MASK if key in keys else value) for key, value in sorted(_stack_config(run.config, project).items())},
        "resources": resources,
        "outputs": outputs,
        "secretOutputs": sorted(run.secret_outputs),
    }


def _stack_config(config: Mapping[str, str], project: Mapping[str, Any]) -> dict[str, str]:
    """The run's config without the defaults of keys only another cloud reads (a value the stack set stays, to be seen)."""
    from config.declarations import declarations_of
    from config.reader import other_clouds_keys

    namespace = project["name"]
    declared = declarations_of(project)
    unused = other_clouds_keys(config.get(f"{namespace}:cloud", "digitalocean"))
    return {
        key: value
        for key, value in config.items()
        if not (key.startswith(f"{namespace}:") and key.split(":", 1)[1] in unused and (declared[key.split(":", 1)[1]].secret or value == declared[key.split(":", 1)[1]].default))
    }


def build_plan(stack: str, config_overrides: Mapping[str, Any] | None = None, *, secrets: Mapping[str, str] | None = None, main: Path | None = None) -> dict[str, Any]:
    """Run the program for ``stack`` under mocks and return its plan document.

    ``secrets`` as ``offline.stack_config.stack_config``'s; ``main``: another checkout's `__main__.py`.
    """
    from offline.harness import MAIN, project_file, run_program, stack_config

    run = run_program(stack, config_overrides=config_overrides, secrets=secrets, main=main or MAIN)
    _, secret_keys = stack_config(stack, config_overrides, secrets=secrets)
    return plan_document(run, project_file(), secret_keys)


RESOURCE_KEYS = {"urn": str, "type": str, "name": str, "custom": bool, "inputs": dict, "options": dict}


def check_document(document: Any, where: str) -> dict[str, Any]:
    """``document`` if it is a plan document `plan diff` can read; NotAPlan saying what is wrong otherwise."""
    hint = "make one with `plan --stack NAME --json`"
    if not isinstance(document, dict):
        raise NotAPlan(f"{where} is a JSON {type(document).__name__}, not a plan document ({SCHEMA}); {hint}")
    if document.get("schema") != SCHEMA:
        raise NotAPlan(f'{where} is not a plan document (no "schema": "{SCHEMA}"); {hint}')
    for key, kind in {"stack": str, "resources": list}.items():
        if not isinstance(document.get(key), kind):
            raise NotAPlan(f'{where}: a plan document needs "{key}" ({kind.__name__}); {hint}')
    for index, resource in enumerate(document["resources"]):
        missing = [k for k, kind in RESOURCE_KEYS.items() if not isinstance(resource, dict) or not isinstance(resource.get(k), kind)]
        if missing:
            raise NotAPlan(f"{where}: resources[{index}] lacks {', '.join(missing)}; {hint}")
    return document
