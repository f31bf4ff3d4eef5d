"""Printing a plan diff for a reviewer: the changes in run order, the rollout, capacity and cost, what cannot be undone.

As text for a terminal or as Markdown for a pull-request comment; both carry the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from offline.plan.costs import builder_size, monthly_cost, server_count, servers
from offline.plan.diff import Change, diff_plans, output_changes, schema_note
from offline.plan.waves import AUTO_SCALING_GROUP, is_gate, plan_waves, wave_line

SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
PACKER = "packer build"


def unchanged_count(new: Mapping[str, Any], changes: list[Change]) -> int:
    touched = {c.urn for c in changes}
    return sum(1 for r in new["resources"] if r["custom"] and r["urn"] not in touched)


def _summary(new: Mapping[str, Any], changes: list[Change]) -> str:
    counts = {action: sum(1 for c in changes if c.action == action) for action in ("create", "update", "replace", "delete")}
    summary = ", ".join(f"{n} to {action}" for action, n in counts.items()) + f", {unchanged_count(new, changes)} unchanged"
    refused = sum(1 for c in changes if c.refused)
    if refused:
        summary += f"; {refused} that pulumi up refuses (protected)"
    irreversible = sum(1 for c in changes if c.irreversible)
    if irreversible:
        summary += f"; {irreversible} that cannot be undone"
    return summary


@dataclass(frozen=True)
class Labels:
    """What the two plans are, for the header: a revision and the working tree, or two files."""

    old: str = "old"
    new: str = "new"


def title(old: Mapping[str, Any], new: Mapping[str, Any], labels: Labels) -> str:
    if old["stack"] != new["stack"]:
        return f"Offline plan diff ACROSS STACKS, stack {old['stack']} ({labels.old}) -> stack {new['stack']} ({labels.new}): a change between two stacks, not a deploy of either"
    return f"Offline plan diff for stack {new['stack']}: {labels.old} -> {labels.new}"


def _noun(new: Mapping[str, Any]) -> str:
    return "instances" if any(r["type"] == AUTO_SCALING_GROUP for r in new["resources"]) else "droplets"


def rollout_lines(old: Mapping[str, Any], new: Mapping[str, Any], changes: list[Change]) -> list[str]:
    """What `pulumi up` would run, in order: the bakes, each wave and its gate, then the old servers' deletion; [] when no server or bake changes."""
    by_urn = {r["urn"]: r for r in new["resources"]}
    moving = {c.urn for c in changes if c.action in ("create", "replace")}
    bakes = [c for c in changes if c.urn in moving and PACKER in str(by_urn[c.urn]["inputs"].get("create", ""))]
    new_servers = [c for c in changes if c.urn in moving and server_count(by_urn[c.urn])]
    gates = [c for c in changes if c.urn in moving and is_gate(by_urn[c.urn])]
    if not (bakes or new_servers or gates):
        return []
    lines = []
    for bake in bakes:
        lines.append(f"bake: {bake.name} (on a temporary builder, {builder_size(by_urn[bake.urn])}, deleted when the image is saved)")
    waves = plan_waves(new)
    for number, wave in enumerate(waves, start=1):
        lines.append(wave_line(number, wave, waves[number - 2] if number > 1 else None))
    before = {r["urn"]: r for r in old["resources"] if r["custom"]}
    gone = [c.name for c in changes if c.action in ("replace", "delete") and c.urn in before and server_count(before[c.urn])]
    if gone:
        aws = any(before[c.urn]["type"] == AUTO_SCALING_GROUP for c in changes if c.urn in before)
        what = f"auto-scaling group{'s' if len(gone) != 1 else ''} {', '.join(gone)} and their instances" if aws else f"droplet{'s' if len(gone) != 1 else ''} {', '.join(gone)}"
        drain = ", each instance drained from the target group first" if aws else ""
        lines.append(f"then: the old {what} {'is' if len(gone) == 1 and not aws else 'are'} deleted, once the last gate passed{drain}")
    return lines


def capacity_line(old: Mapping[str, Any], new: Mapping[str, Any], changes: list[Change]) -> str:
    """Peak servers while the old and the new generation both run, and the builder each bake adds before them."""
    by_urn = {r["urn"]: r for r in new["resources"]}
    noun = _noun(new)
    added = sum(server_count(by_urn[c.urn]) for c in changes if c.action in ("create", "replace") and c.urn in by_urn)
    before = servers(old)
    bakes = [by_urn[c.urn] for c in changes if c.action in ("create", "replace") and PACKER in str(by_urn[c.urn]["inputs"].get("create", ""))]
    if not added and not bakes:
        return f"{before} {noun} throughout, none created or replaced" + (f", {servers(new)} after the deletes" if servers(new) != before else "")
    line = f"peak {before + added} {noun} during the rollout ({before} old + {added} new), {servers(new)} after it"
    if bakes:
        sizes = sorted({builder_size(bake) for bake in bakes})
        line += f"; the builder: 1 {'instance' if noun == 'instances' else 'droplet'} ({', '.join(sizes)}) at a time for {len(bakes)} bake{'s' if len(bakes) != 1 else ''}, before the new {noun}"
    return line


def cost_line(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    before, after = monthly_cost(old), monthly_cost(new)
    line = f"about ${before.monthly:,.2f} -> ${after.monthly:,.2f} a month at list prices (offline/plan/costs.py; traffic, snapshots and backups not counted)"
    unpriced = sorted(set(before.unpriced) | set(after.unpriced))
    if unpriced:
        line += f"; not in the price table, not counted: {', '.join(unpriced)}"
    return line


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _markdown(old: Mapping[str, Any], new: Mapping[str, Any], changes: list[Change], labels: Labels) -> str:
    lines = [f"### {title(old, new, labels)}", "", _summary(new, changes), ""]
    irreversible = [(c, what) for c in changes for what in c.irreversible]
    if irreversible:
        lines += ["**Cannot be undone:**", *(f"- `{c.name}`: {_cell(what)}" for c, what in irreversible), ""]
    if changes:
        lines += ["| | resource | type | changes | why |", "|---|---|---|---|---|"]
        for c in changes:
            what = "<br>".join(f"`{_cell(d)}`" for d in c.details) or "-"
            lines.append(f"| `{SYMBOLS[c.action]}` {c.action} | `{c.name}` | `{c.type}` | {what} | {_cell(c.reason)} |")
    else:
        lines.append("No changes.")
    if rollout := rollout_lines(old, new, changes):
        lines += ["", "**Rollout, in order:**", *(f"1. {_cell(step)}" for step in rollout)]
    lines += ["", f"**Capacity:** {capacity_line(old, new, changes)}", "", f"**Cost:** {cost_line(old, new)}"]
    outputs = output_changes(old, new)
    if outputs:
        lines += ["", "Outputs: " + ", ".join(f"`{_cell(change)}`" for change in outputs)]
    if note := schema_note(old, new):
        lines += ["", f"**{note[0].upper()}{note[1:]}.**"]
    lines += ["", "_Computed offline with Pulumi mocks (`plan diff`); `pulumi preview` against the real providers is the final word._"]
    return "\n".join(lines) + "\n"


def render_diff(old: Mapping[str, Any], new: Mapping[str, Any], *, markdown: bool = False, labels: Labels | None = None) -> str:
    changes = diff_plans(old, new)
    labels = labels or Labels()
    if markdown:
        return _markdown(old, new, changes, labels)
    lines = [title(old, new, labels) + ":", "  changes, in the order pulumi up makes them:" if changes else "  no changes"]
    for c in changes:
        keys = f" [{', '.join(c.keys)}]" if c.keys else ""
        lines.append(f"  {SYMBOLS[c.action]:>2} {c.action:<7} {c.name}  ({c.type}){keys}: {c.reason}")
        lines += [f"             {detail}" for detail in c.details]
        lines += [f"             ! CANNOT BE UNDONE: {what}" for what in c.irreversible]
    if rollout := rollout_lines(old, new, changes):
        lines.append("  rollout, in order:")
        lines += [f"    {number}. {step}" for number, step in enumerate(rollout, start=1)]
    lines += [f"  capacity: {capacity_line(old, new, changes)}", f"  cost: {cost_line(old, new)}"]
    outputs = output_changes(old, new)
    if outputs:
        lines.append("  outputs:")
        lines += [f"     ~ {change}" for change in outputs]
    if note := schema_note(old, new):
        lines.append(f"  {note}")
    lines.append(_summary(new, changes))
    return "\n".join(lines) + "\n"
