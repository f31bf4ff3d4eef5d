"""Printing one plan: the resource tree with key inputs and options, the cloud-init, the outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from offline.plan.document import decoded_user_data
from offline.plan.waves import LAUNCH_TEMPLATE, render_waves


def _text(value: Any) -> str:
    """A value whole: a reviewer reads the gate's instance ids and the bake's variables in full."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


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


def _user_data(plan: Mapping[str, Any]) -> list[str]:
    """The cloud-init user-data, once if every server gets the same, decoded from base64 where the cloud wants it encoded."""
    with_user_data = [r for r in plan["resources"] if "userData" in r["inputs"]]
    if not with_user_data:
        return []
    first = with_user_data[0]
    same = all(r["inputs"]["userData"] == first["inputs"]["userData"] for r in with_user_data)
    text = decoded_user_data(first["inputs"]["userData"])
    if first["type"] == LAUNCH_TEMPLATE:
        who = f"launch template {first['name']}: every instance of every wave" if same else f"launch template {first['name']}"
    else:
        who = f"{first['name']}{' and every other droplet' if same else ''}"
    decoded = "decoded from base64; " if text is not None else ""
    return ["", f"Cloud-init user-data ({who}; {decoded}secrets masked):", *("  " + line for line in (text if text is not None else first["inputs"]["userData"]).splitlines())]


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
                text = decoded_user_data(value)
                value = f"<{len((text or value).splitlines())} lines{', base64, shown decoded' if text is not None else ', shown'} below>"
            secret = " (secret)" if key in resource["secretInputs"] else ""
            lines.append(f"{detail_indent}{key}: {_text(value)}{secret}")
        words = _options_words(resource["options"], resource["custom"])
        if words:
            lines.append(f"{detail_indent}options: {', '.join(words)}")
        for index, kid in enumerate(kids):
            walk(kid, inner, index == len(kids) - 1)

    for index, root in enumerate(roots):
        walk(root, "  ", index == len(roots) - 1)

    lines += _user_data(plan)
    lines += render_waves(plan)
    lines += ["", "Outputs:"]
    for key, value in plan["outputs"].items():
        lines.append(f"  {key}: {_text(value)}{' (secret)' if key in plan['secretOutputs'] else ''}")
    return "\n".join(lines) + "\n"
