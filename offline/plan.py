"""`plan`: see what a stack would create, and what a change would do, with no cloud account.

    plan --stack staging                  the resource tree, key inputs, options, cloud-init, outputs
    plan --stack staging --json           the same as a stable JSON document
    plan diff OLD.json NEW.json           what would be created, updated, replaced or deleted, and why
    plan --stack staging --against main   the same diff against another git revision of this repo

It runs the real program under Pulumi's mocks (offline.harness) with the
stack's real config; secrets are masked everywhere. Mocked ids and addresses
are deterministic, so the same commit always prints the same plan.

The diff knows what the program declares (`replace_on_changes`, including
pulumi-command's triggers) and the DigitalOcean properties that force a new
resource (PROVIDER_REPLACES below); a real `pulumi preview` asks the provider
and remains the final word.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.providers import PROVIDER_REPLACES

SCHEMA = "immutable-web/plan/v1"
MASK = "[secret]"



# ---------------------------------------------------------------------------
# Building the plan document.


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


def secret_values(run) -> list[str]:
    """Every value that is secret in this run: secret config, and secret outputs of resources."""
    from offline.harness import MOCK_DB_PASSWORD_PREFIX

    values = {run.config[key] for key in run.config if key in _secret_config_keys(run)}
    for resource in run.resources:
        for value in resource.outputs.values():
            if isinstance(value, str) and (value.startswith(MOCK_DB_PASSWORD_PREFIX) or value.startswith("mock-admin-password-")):
                values.add(value)
    # Longest first, so a secret that contains another is masked whole.
    return sorted((v for v in values if v), key=len, reverse=True)


def _secret_config_keys(run) -> set[str]:
    from offline.harness import project_file

    project = project_file()
    declared = project.get("config", {})
    keys = {f"{project['name']}:{k}" for k, d in declared.items() if isinstance(d, dict) and d.get("secret")}
    return keys


def build_plan(stack: str, config_overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    from offline.harness import run_program

    return plan_document(run_program(stack, config_overrides=config_overrides))


def plan_document(run) -> dict[str, Any]:
    """The plan document of one recorded run of the program (offline.harness.StackRun)."""
    from offline.harness import project_file

    stack = run.stack
    secrets = secret_values(run)
    secret_keys = _secret_config_keys(run)
    resources = []
    for resource in run.resources:
        resources.append(
            {
                "urn": resource.urn,
                "type": resource.type,
                "name": resource.name,
                "parent": resource.parent,
                "custom": resource.custom,
                "inputs": _mask(resource.inputs, secrets),
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
    return {
        "schema": SCHEMA,
        "project": project_file()["name"],
        "stack": stack,
        "config": {key: (MASK if key in secret_keys else value) for key, value in sorted(run.config.items())},
        "resources": resources,
        "outputs": _mask({k: run.outputs[k] for k in sorted(run.outputs)}, secrets),
        "secretOutputs": sorted(run.secret_outputs),
    }


# ---------------------------------------------------------------------------
# Printing a plan.


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _options_words(options: Mapping[str, Any], custom: bool) -> list[str]:
    words = []
    if options["protect"]:
        words.append("protect")
    if options["replaceOnChanges"]:
        words.append("replace-on-changes [" + ", ".join(options["replaceOnChanges"]) + "]")
    if custom:
        words.append("delete-before-replace" if options["deleteBeforeReplace"] else "create-before-destroy")
    if options["retainOnDelete"]:
        words.append("retain-on-delete")
    if options["customTimeouts"]:
        words.append("timeouts " + ",".join(f"{k}={v}" for k, v in sorted(options["customTimeouts"].items())))
    return words


LONG_INPUTS = {"userData"}


def render_text(plan: Mapping[str, Any]) -> str:
    lines = [
        f"Offline plan for stack {plan['stack']} (project {plan['project']}): the real program under Pulumi mocks, no cloud calls.",
        f"{sum(1 for r in plan['resources'] if r['custom'])} resources in {sum(1 for r in plan['resources'] if not r['custom'])} components.",
        "",
        "Config:",
    ]
    prefix = plan["project"] + ":"
    for key, value in plan["config"].items():
        lines.append(f"  {key.removeprefix(prefix)}: {value}")

    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for resource in plan["resources"]:
        children.setdefault(resource["parent"], []).append(resource)
    roots = [r for r in plan["resources"] if r["parent"] not in {x["urn"] for x in plan["resources"]}]

    lines += ["", f"Resources (stack {plan['stack']}):"]

    def walk(resource: Mapping[str, Any], indent: str, last: bool) -> None:
        branch = "└─ " if last else "├─ "
        lines.append(f"{indent}{branch}{resource['type']}  {resource['name']}")
        inner = indent + ("   " if last else "│  ")
        kids = children.get(resource["urn"], [])
        detail_indent = inner + ("│    " if kids else "     ")
        for key, value in sorted(resource["inputs"].items()):
            if key in LONG_INPUTS:
                value = f"<{len(value.splitlines())} lines, shown below>"
            secret = " (secret)" if key in resource["secretInputs"] else ""
            lines.append(f"{detail_indent}{key}: {_short(value)}{secret}")
        words = _options_words(resource["options"], resource["custom"])
        if words:
            lines.append(f"{detail_indent}options: {', '.join(words)}")
        for index, kid in enumerate(kids):
            walk(kid, inner, index == len(kids) - 1)

    for index, root in enumerate(roots):
        walk(root, "  ", index == len(roots) - 1)

    user_data = [r for r in plan["resources"] if "userData" in r["inputs"]]
    if user_data:
        first = user_data[0]
        same = all(r["inputs"]["userData"] == first["inputs"]["userData"] for r in user_data)
        lines += ["", f"Cloud-init user-data ({first['name']}{' and every other droplet' if same else ''}; secrets masked):"]
        lines += ["  " + line for line in first["inputs"]["userData"].splitlines()]

    lines += ["", "Outputs:"]
    for key, value in plan["outputs"].items():
        lines.append(f"  {key}: {_short(value, 200)}{' (secret)' if key in plan['secretOutputs'] else ''}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Diffing two plans.


@dataclass(frozen=True)
class Change:
    action: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    keys: tuple[str, ...]  # inputs that differ
    reason: str


def _matches(key: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        root = pattern.split("[")[0].split(".")[0]
        if pattern == "*" or root == key:
            return True
    return False


def diff_plans(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    before = {r["urn"]: r for r in old["resources"] if r["custom"]}
    after = {r["urn"]: r for r in new["resources"] if r["custom"]}
    changes: list[Change] = []
    for urn in sorted(before.keys() | after.keys()):
        if urn not in before:
            r = after[urn]
            changes.append(Change("create", urn, r["type"], r["name"], (), "new in this plan"))
            continue
        if urn not in after:
            r = before[urn]
            changes.append(Change("delete", urn, r["type"], r["name"], (), "no longer declared"))
            continue
        b, a = before[urn], after[urn]
        keys = tuple(sorted(k for k in b["inputs"].keys() | a["inputs"].keys() if b["inputs"].get(k) != a["inputs"].get(k)))
        if not keys:
            continue
        declared = [k for k in keys if _matches(k, a["options"]["replaceOnChanges"])]
        forced = [k for k in keys if k in PROVIDER_REPLACES.get(a["type"], ())]
        if declared or forced:
            order = "delete old, then create new" if a["options"]["deleteBeforeReplace"] else "create new, then delete old"
            why = []
            if declared:
                why.append("replace-on-changes: " + ", ".join(declared))
            if forced:
                why.append("provider replaces on: " + ", ".join(k for k in forced if k not in declared)) if any(k not in declared for k in forced) else None
            if a["options"]["protect"]:
                order += "; PROTECTED: pulumi up will refuse this replacement"
            changes.append(Change("replace", urn, a["type"], a["name"], keys, f"{'; '.join(w for w in why if w)} ({order})"))
        else:
            changes.append(Change("update", urn, a["type"], a["name"], keys, "in place"))
    return changes


def unchanged_count(old: Mapping[str, Any], new: Mapping[str, Any], changes: list[Change]) -> int:
    touched = {c.urn for c in changes}
    return sum(1 for r in new["resources"] if r["custom"] and r["urn"] not in touched)


SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def render_diff(old: Mapping[str, Any], new: Mapping[str, Any], *, markdown: bool = False) -> str:
    changes = diff_plans(old, new)
    counts = {action: sum(1 for c in changes if c.action == action) for action in ("create", "update", "replace", "delete")}
    summary = ", ".join(f"{n} to {action}" for action, n in counts.items()) + f", {unchanged_count(old, new, changes)} unchanged"
    title = f"Offline plan diff for stack {new['stack']}"
    if markdown:
        lines = [f"### {title}", "", summary, ""]
        if changes:
            lines += ["| | resource | type | changed inputs | why |", "|---|---|---|---|---|"]
            for c in changes:
                lines.append(f"| `{SYMBOLS[c.action]}` {c.action} | `{c.name}` | `{c.type}` | {', '.join(c.keys) or '-'} | {c.reason} |")
        else:
            lines.append("No changes.")
        lines += ["", "_Computed offline with Pulumi mocks (`plan diff`); `pulumi preview` against the real providers is the final word._"]
        return "\n".join(lines) + "\n"
    lines = [title + ":"]
    for c in changes:
        keys = f" [{', '.join(c.keys)}]" if c.keys else ""
        lines.append(f"  {SYMBOLS[c.action]:>2} {c.action:<7} {c.name}  ({c.type}){keys}: {c.reason}")
    if not changes:
        lines.append("  no changes")
    lines.append(summary)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# The command line.


def plan_at_revision(stack: str, revision: str) -> dict[str, Any]:
    """Build the plan of another git revision of this repository, in a throw-away worktree."""
    from offline.harness import PROJECT_DIR

    workdir = Path(tempfile.mkdtemp(prefix="plan-against-"))
    tree = workdir / "tree"
    try:
        subprocess.run(["git", "-C", str(PROJECT_DIR), "worktree", "add", "--detach", str(tree), revision], check=True, capture_output=True, text=True, timeout=120)
        result = subprocess.run(
            [sys.executable, "-m", "offline.plan", "--stack", stack, "--json"],
            cwd=tree,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PYTHONPATH": str(tree)},
        )
        if result.returncode != 0:
            raise SystemExit(f"plan: could not build the plan of {revision}:\n{result.stderr[-2000:]}")
        return json.loads(result.stdout)
    finally:
        subprocess.run(["git", "-C", str(PROJECT_DIR), "worktree", "remove", "--force", str(tree)], capture_output=True, timeout=120)
        shutil.rmtree(workdir, ignore_errors=True)


def _load(path: str) -> dict[str, Any]:
    document = json.loads(Path(path).read_text())
    if document.get("schema") != SCHEMA:
        raise SystemExit(f"plan: {path} is not a plan document ({SCHEMA}); make one with `plan --stack NAME --json`")
    return document


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["diff"]:
        parser = argparse.ArgumentParser(prog="plan diff", description="What would change from one plan to another.")
        parser.add_argument("old")
        parser.add_argument("new")
        parser.add_argument("--markdown", action="store_true", help="a Markdown table, for a pull-request comment or job summary")
        args = parser.parse_args(argv[1:])
        sys.stdout.write(render_diff(_load(args.old), _load(args.new), markdown=args.markdown))
        return 0

    from components.config import ConfigError
    from offline.harness import list_stacks

    parser = argparse.ArgumentParser(prog="plan", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="staging", help=f"stack to plan (default staging; here: {', '.join(list_stacks())})")
    parser.add_argument("--json", action="store_true", help="print the plan as a stable JSON document")
    parser.add_argument("--against", metavar="REF", help="print the diff from the plan at git revision REF to this working tree's")
    parser.add_argument("--markdown", action="store_true", help="with --against: a Markdown table")
    args = parser.parse_args(argv)
    if args.stack not in list_stacks():
        parser.error(f"unknown stack {args.stack!r}; stacks: {', '.join(list_stacks())}")

    try:
        plan = build_plan(args.stack)
    except ConfigError as error:
        print(f"plan: stack {args.stack}: {error}", file=sys.stderr)
        return 2
    if args.against:
        sys.stdout.write(render_diff(plan_at_revision(args.stack, args.against), plan, markdown=args.markdown))
    elif args.json:
        sys.stdout.write(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    else:
        sys.stdout.write(render_text(plan))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
