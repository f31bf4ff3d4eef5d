"""Diffing two plans: what would be created, updated, replaced or deleted, and why.

The diff knows what the program declares (`replace_on_changes`, including
pulumi-command's triggers, and the resource options) and the DigitalOcean
inputs that force a new resource (offline.providers); a real `pulumi preview`
asks the provider and remains the final word. Secret inputs show only that
they changed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from offline.plan.document import MASK
from offline.plan.render import short
from offline.providers import forces_replacement

COMMAND = "command:local:Command"
VALUE_LIMIT = 60
_UNSET = object()


@dataclass(frozen=True)
class Change:
    action: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    keys: tuple[str, ...]  # inputs and options that differ
    reason: str
    details: tuple[str, ...] = ()  # "key: old -> new" per changed input or option; "runs: ..." for a command
    refused: bool = False  # `pulumi up` refuses it: a protected resource deleted or replaced


def _matches(key: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        root = pattern.split("[")[0].split(".")[0]
        if pattern == "*" or root == key:
            return True
    return False


def _text(inputs: Mapping[str, Any], key: str) -> str:
    if key not in inputs:
        return "(unset)"
    value = inputs[key]
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _old_to_new(old: str, new: str) -> str:
    """``old -> new``, each truncated; when both are long, from a little before where they first differ."""
    if short(old, VALUE_LIMIT) == short(new, VALUE_LIMIT):
        common = len(os.path.commonprefix([old, new]))  # noqa: RUF071 - the common prefix of two strings, character by character, is what is wanted
        start = max(0, common - 20)
        old, new = "..." + old[start:], "..." + new[start:]
    return f"{short(old, VALUE_LIMIT)} -> {short(new, VALUE_LIMIT)}"


def _input_detail(b: Mapping[str, Any], a: Mapping[str, Any], key: str) -> str:
    if key in b.get("secretInputs", ()) or key in a.get("secretInputs", ()):
        return f"{key}: {MASK} -> {MASK} (changed)"
    return f"{key}: {_old_to_new(_text(b['inputs'], key), _text(a['inputs'], key))}"


def runs(resource: Mapping[str, Any]) -> str:
    """What a created or replaced command runs, in a few words."""
    if "create" in resource.get("secretInputs", ()):
        return f"runs: {MASK}"
    create = str(resource["inputs"].get("create", ""))
    if "health_gate" in create:
        return f"runs: health gate ({short(create, VALUE_LIMIT)})"
    return f"runs: {short(create, 140)}"


# Option -> what each new value means for the next `pulumi up` or a later delete.
OPTION_EFFECTS = {
    "protect": {True: "protect added: pulumi up will refuse to delete or replace it", False: "protect removed: it can now be deleted or replaced"},
    "retainOnDelete": {True: "retain-on-delete added: a delete leaves it in the cloud", False: "retain-on-delete removed: a delete destroys it in the cloud"},
    "deleteBeforeReplace": {True: "delete-before-replace added: a replacement deletes the old one first", False: "delete-before-replace removed: a replacement creates the new one first"},
}


def _option_changes(b: Mapping[str, Any], a: Mapping[str, Any]) -> list[tuple[str, str]]:
    changes = []
    for option in sorted(b.keys() | a.keys()):
        before, after = b.get(option), a.get(option)
        if before == after:
            continue
        effect = OPTION_EFFECTS.get(option, {}).get(after, "") if isinstance(after, bool) else ""
        detail = f"{option}: {short(before, VALUE_LIMIT)} -> {short(after, VALUE_LIMIT)}"
        changes.append((option, f"{detail} ({effect})" if effect else detail))
    return changes


def _created(r: Mapping[str, Any]) -> Change:
    details = (runs(r),) if r["type"] == COMMAND else ()
    return Change("create", r["urn"], r["type"], r["name"], (), "new in this plan", details)


def _deleted(r: Mapping[str, Any]) -> Change:
    reason = "no longer declared"
    if r["options"].get("retainOnDelete"):
        reason += "; retain-on-delete: left in the cloud, removed from the stack"
    protected = bool(r["options"].get("protect"))
    if protected:
        reason += "; PROTECTED: pulumi up will refuse to delete it"
    return Change("delete", r["urn"], r["type"], r["name"], (), reason, refused=protected)


def _changed(b: Mapping[str, Any], a: Mapping[str, Any]) -> Change | None:
    keys = sorted(k for k in b["inputs"].keys() | a["inputs"].keys() if b["inputs"].get(k) != a["inputs"].get(k))
    options = _option_changes(b["options"], a["options"])
    if not keys and not options:
        return None
    details = tuple(_input_detail(b, a, k) for k in keys) + tuple(detail for _, detail in options)
    all_keys = tuple(keys) + tuple(option for option, _ in options)
    declared = [k for k in keys if _matches(k, a["options"]["replaceOnChanges"])]
    forced = [k for k in keys if k not in declared and forces_replacement(a["type"], k, b["inputs"].get(k), a["inputs"].get(k))]
    if not declared and not forced:
        reason = "in place" if keys else "options only"
        return Change("update", a["urn"], a["type"], a["name"], all_keys, reason, details)

    why = []
    if declared:
        why.append("replace-on-changes: " + ", ".join(declared))
    if forced:
        why.append("provider replaces on: " + ", ".join(forced))
    order = "delete old, then create new" if a["options"]["deleteBeforeReplace"] else "create new, then delete old"
    if b["options"].get("retainOnDelete"):
        order += "; retain-on-delete: the old one is left in the cloud, removed from the stack"
    # The engine refuses a replacement only when the resource is protected before and after
    # (unprotecting and replacing in one update is allowed).
    refused = bool(b["options"].get("protect")) and bool(a["options"].get("protect"))
    if refused:
        order += "; PROTECTED: pulumi up will refuse this replacement"
    elif b["options"].get("protect"):
        order += "; protect removed in the same update, so pulumi up allows it"
    if a["type"] == COMMAND:
        details += (runs(a),)
    return Change("replace", a["urn"], a["type"], a["name"], all_keys, f"{'; '.join(why)} ({order})", details, refused)


def diff_plans(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    before = {r["urn"]: r for r in old["resources"] if r["custom"]}
    after = {r["urn"]: r for r in new["resources"] if r["custom"]}
    changes: list[Change] = []
    for urn in sorted(before.keys() | after.keys()):
        if urn not in before:
            changes.append(_created(after[urn]))
        elif urn not in after:
            changes.append(_deleted(before[urn]))
        elif (change := _changed(before[urn], after[urn])) is not None:
            changes.append(change)
    return changes


def output_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``key: old -> new`` for each stack output that differs (secret ones masked, as in the plans)."""
    before, after = old.get("outputs", {}), new.get("outputs", {})
    return [f"{key}: {_old_to_new(_text(before, key), _text(after, key))}" for key in sorted(before.keys() | after.keys()) if before.get(key, _UNSET) != after.get(key, _UNSET)]


def schema_note(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """What a changed `schemaRevision` means for the rollout, in a sentence; None when it did not change."""
    before, after = old.get("outputs", {}).get("schemaRevision"), new.get("outputs", {}).get("schemaRevision")
    if before == after or after is None:
        return None
    start = f" from {before}" if before is not None else ""  # the old plan did not say (a first deploy, or an older program)
    return (
        f"schema migration: the new servers migrate the database{start} to {after} at start, before their gate passes; "
        "the old fleet keeps serving on the migrated schema, so each migration must keep the previous version working (expand only)"
    )


def unchanged_count(new: Mapping[str, Any], changes: list[Change]) -> int:
    touched = {c.urn for c in changes}
    return sum(1 for r in new["resources"] if r["custom"] and r["urn"] not in touched)


SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}


def _summary(new: Mapping[str, Any], changes: list[Change]) -> str:
    counts = {action: sum(1 for c in changes if c.action == action) for action in ("create", "update", "replace", "delete")}
    summary = ", ".join(f"{n} to {action}" for action, n in counts.items()) + f", {unchanged_count(new, changes)} unchanged"
    refused = sum(1 for c in changes if c.refused)
    if refused:
        summary += f"; {refused} that pulumi up refuses (protected)"
    return summary


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_diff(old: Mapping[str, Any], new: Mapping[str, Any], *, markdown: bool = False) -> str:
    changes = diff_plans(old, new)
    summary = _summary(new, changes)
    title = f"Offline plan diff for stack {new['stack']}"
    if markdown:
        lines = [f"### {title}", "", summary, ""]
        if changes:
            lines += ["| | resource | type | changes | why |", "|---|---|---|---|---|"]
            for c in changes:
                what = "<br>".join(f"`{_cell(d)}`" for d in c.details) or "-"
                lines.append(f"| `{SYMBOLS[c.action]}` {c.action} | `{c.name}` | `{c.type}` | {what} | {_cell(c.reason)} |")
        else:
            lines.append("No changes.")
        outputs = output_changes(old, new)
        if outputs:
            lines += ["", "Outputs: " + ", ".join(f"`{_cell(change)}`" for change in outputs)]
        if note := schema_note(old, new):
            lines += ["", f"**{note[0].upper()}{note[1:]}.**"]
        lines += ["", "_Computed offline with Pulumi mocks (`plan diff`); `pulumi preview` against the real providers is the final word._"]
        return "\n".join(lines) + "\n"
    lines = [title + ":"]
    for c in changes:
        keys = f" [{', '.join(c.keys)}]" if c.keys else ""
        lines.append(f"  {SYMBOLS[c.action]:>2} {c.action:<7} {c.name}  ({c.type}){keys}: {c.reason}")
        lines += [f"             {detail}" for detail in c.details]
    if not changes:
        lines.append("  no changes")
    outputs = output_changes(old, new)
    if outputs:
        lines.append("  outputs:")
        lines += [f"     ~ {change}" for change in outputs]
    if note := schema_note(old, new):
        lines.append(f"  {note}")
    lines.append(summary)
    return "\n".join(lines) + "\n"
