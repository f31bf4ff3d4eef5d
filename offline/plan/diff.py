"""Diffing two plans: what would be created, updated, replaced or deleted, and why.

The diff knows what the program declares (`replace_on_changes`, including
pulumi-command's triggers, and the resource options) and the DigitalOcean
inputs that force a new resource (offline.providers); a real `pulumi preview`
asks the provider and remains the final word. Secret inputs show only that
they changed. Changes come in run order (what a resource waits for comes
first; deletes last, as the engine deletes the replaced and removed resources
after everything new exists), each flagged when it cannot be undone.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from offline.plan.document import MASK, decoded_user_data
from offline.providers import forces_replacement

COMMAND = "command:local:Command"
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
    irreversible: tuple[str, ...] = ()  # what this change does that cannot be undone, one sentence each


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
    """``old -> new``, whole: a reviewer needs the ids and flags a shortened value would cut."""
    return f"{old} -> {new}"


def _text_lines(inputs: Mapping[str, Any], key: str) -> list[str] | None:
    """A multi-line text input as lines (base64 user-data decoded); None for any other value."""
    value = inputs.get(key)
    if not isinstance(value, str):
        return None
    text = decoded_user_data(value) if key == "userData" else None
    text = value if text is None else text
    return text.splitlines() if "\n" in text else None


def _input_detail(b: Mapping[str, Any], a: Mapping[str, Any], key: str) -> tuple[str, ...]:
    old_lines, new_lines = _text_lines(b["inputs"], key), _text_lines(a["inputs"], key)
    if old_lines is not None and new_lines is not None:
        # Multi-line text (cloud-init): the lines that differ, with the document's masking (a secret shows as [secret]).
        changed = [line for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=0) if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        return (f"{key}: {len(changed)} changed lines", *(f"  {line}" for line in changed))
    if key in b.get("secretInputs", ()) or key in a.get("secretInputs", ()):
        return (f"{key}: {MASK} -> {MASK} (changed)",)
    return (f"{key}: {_old_to_new(_text(b['inputs'], key), _text(a['inputs'], key))}",)


def runs(resource: Mapping[str, Any]) -> str:
    """What a created or replaced command runs, whole."""
    if "create" in resource.get("secretInputs", ()):
        return f"runs: {MASK}"
    create = str(resource["inputs"].get("create", ""))
    if "health_gate" in create:
        return f"runs: health gate ({create})"
    return f"runs: {create}"


def _major(version: Any) -> int | None:
    found = re.match(r"\s*(\d+)", str(version))
    return int(found.group(1)) if found else None


# (type, input) -> what a change of that input does that no later change undoes; None when the change is reversible.
def _major_upgrade(old: Any, new: Any) -> str | None:
    before, after = _major(old), _major(new)
    if before is None or after is None or before == after:
        return None
    return f"PostgreSQL major version {before} -> {after}: the upgrade cannot be undone (no downgrade; going back is a restore from a backup taken before it)"


def _disk_grow(old: Any, new: Any) -> str | None:
    try:
        grows = float(new) > float(old)
    except (TypeError, ValueError):
        return None
    return f"storage grows {old} -> {new}: it cannot be shrunk again (going back is a new database and a restore)" if grows else None


IRREVERSIBLE_INPUTS = {
    ("digitalocean:index/databaseCluster:DatabaseCluster", "version"): _major_upgrade,
    ("digitalocean:index/databaseCluster:DatabaseCluster", "storageSizeMib"): _disk_grow,
    ("aws:rds/instance:Instance", "engineVersion"): _major_upgrade,
    ("aws:rds/instance:Instance", "allocatedStorage"): _disk_grow,
    ("aws:rds/instance:Instance", "maxAllocatedStorage"): _disk_grow,
}
# Resources that hold data: deleting or replacing one loses what is in it.
STATEFUL = {"digitalocean:index/databaseCluster:DatabaseCluster", "digitalocean:index/databaseDb:DatabaseDb", "aws:rds/instance:Instance"}


def _irreversible(b: Mapping[str, Any], a: Mapping[str, Any], keys: Iterable[str], action: str) -> tuple[str, ...]:
    found = []
    for key in keys:
        check = IRREVERSIBLE_INPUTS.get((a["type"], key))
        if check is not None and (what := check(b["inputs"].get(key), a["inputs"].get(key))):
            found.append(what)
    if action == "replace" and a["type"] in STATEFUL:
        found.append("replaced: the new one starts empty, the data in the old one is deleted with it")
    if b["options"].get("protect") and action == "update":
        found.append("protected (protect marks what cannot be rebuilt) and changed in place: check that this change can be reversed")
    return tuple(found)


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
        detail = f"{option}: {_text({'v': before}, 'v')} -> {_text({'v': after}, 'v')}"
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
    lost = ("deleted: the data in it goes with it",) if r["type"] in STATEFUL and not r["options"].get("retainOnDelete") else ()
    return Change("delete", r["urn"], r["type"], r["name"], (), reason, refused=protected, irreversible=lost)


def _changed(b: Mapping[str, Any], a: Mapping[str, Any]) -> Change | None:
    keys = sorted(k for k in b["inputs"].keys() | a["inputs"].keys() if b["inputs"].get(k) != a["inputs"].get(k))
    options = _option_changes(b["options"], a["options"])
    if not keys and not options:
        return None
    details = tuple(line for k in keys for line in _input_detail(b, a, k)) + tuple(detail for _, detail in options)
    all_keys = tuple(keys) + tuple(option for option, _ in options)
    declared = [k for k in keys if _matches(k, a["options"]["replaceOnChanges"])]
    forced = [k for k in keys if k not in declared and forces_replacement(a["type"], k, b["inputs"].get(k), a["inputs"].get(k))]
    if not declared and not forced:
        reason = "in place" if keys else "options only"
        return Change("update", a["urn"], a["type"], a["name"], all_keys, reason, details, irreversible=_irreversible(b, a, keys, "update") if keys else ())

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
    return Change("replace", a["urn"], a["type"], a["name"], all_keys, f"{'; '.join(why)} ({order})", details, refused, _irreversible(b, a, keys, "replace"))


def _depths(plan: Mapping[str, Any]) -> dict[str, int]:
    """Each resource's place in the run: 0 for one that waits for nothing, else one more than the deepest it waits for."""
    by_urn = {r["urn"]: r for r in plan["resources"]}
    depths: dict[str, int] = {}

    def depth(urn: str, seen: frozenset[str] = frozenset()) -> int:
        if urn not in depths:
            waits = [d for d in by_urn[urn].get("dependsOn", []) if d in by_urn and d not in seen]
            depths[urn] = 1 + max((depth(d, seen | {urn}) for d in waits), default=-1)
        return depths[urn]

    for urn in by_urn:
        depth(urn)
    return depths


def diff_plans(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """The changes in the order `pulumi up` makes them: creates, replacements and updates by dependency, then deletes."""
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
    new_depths, old_depths = _depths(new), _depths(old)
    # Deletes come last and in reverse: what depends on a resource goes before it.
    return sorted(changes, key=lambda c: (1, -old_depths.get(c.urn, 0), c.urn) if c.action == "delete" else (0, new_depths.get(c.urn, 0), c.urn))


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
