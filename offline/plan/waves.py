"""The rollout order a plan implies: which droplets each health gate waits for, and which wave waits for which gate.

Read from the plan document alone (types, the gates' commands and `dependsOn`),
so `plan` shows the order `pulumi up` will follow without running anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DROPLET = "digitalocean:index/droplet:Droplet"
COMMAND = "command:local:Command"


def is_gate(resource: Mapping[str, Any]) -> bool:
    return resource["type"] == COMMAND and "tools/health_gate.py" in str(resource["inputs"].get("create", ""))


def rollout_waves(plan: Mapping[str, Any]) -> list[tuple[list[str], str]]:
    """[(droplet names, gate name)] in the order the engine runs them; empty if the plan has no gate."""
    by_urn = {r["urn"]: r for r in plan["resources"]}
    droplets = {urn for urn, r in by_urn.items() if r["type"] == DROPLET}
    gates = [r for r in plan["resources"] if is_gate(r)]
    wave_of_gate = {gate["urn"]: sorted(set(gate.get("dependsOn", [])) & droplets) for gate in gates}
    waves: list[tuple[list[str], str]] = []
    placed: set[str] = set()
    for _ in range(len(gates)):
        for gate in gates:
            if gate["urn"] in placed:
                continue
            # A gate is next once every gate its droplets wait for is already placed.
            waited = {dep for urn in wave_of_gate[gate["urn"]] for dep in by_urn[urn].get("dependsOn", []) if dep in wave_of_gate}
            if waited <= placed:
                placed.add(gate["urn"])
                waves.append(([by_urn[urn]["name"] for urn in wave_of_gate[gate["urn"]]], gate["name"]))
                break
    return waves


def render_waves(plan: Mapping[str, Any]) -> list[str]:
    waves = rollout_waves(plan)
    if not waves:
        return []
    lines = ["", "Rollout order (each wave is created only after the previous wave's gate passed; old droplets are deleted after the last):"]
    for number, (names, gate) in enumerate(waves, start=1):
        after = f" (after {waves[number - 2][1]} passed)" if number > 1 else ""
        lines.append(f"  wave {number}: {', '.join(names)}{after} -> gate {gate}: waits for these droplets' ids, healthy through the load balancer")
    return lines
