"""The rollout order a plan implies: what each wave creates, which health gate it waits for, and which wave waits for which gate.

On DigitalOcean a wave is a set of droplets and its gate waits for their ids; on
AWS a wave is one auto-scaling group of the fleet's launch template and its gate
waits for that many instances of the fleet's generation (every wave's so far).
Read from the plan document alone (types, inputs, the gates' commands and
`dependsOn`), so `plan` shows the order `pulumi up` will follow without running anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DROPLET = "digitalocean:index/droplet:Droplet"
AUTO_SCALING_GROUP = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
COMMAND = "command:local:Command"
SERVER_TYPES = (DROPLET, AUTO_SCALING_GROUP)


def is_gate(resource: Mapping[str, Any]) -> bool:
    return resource["type"] == COMMAND and "tools/health_gate.py" in str(resource["inputs"].get("create", ""))


def _flag(command: str, flag: str) -> str | None:
    found = re.search(rf"{flag} (\S+)", command)
    return found.group(1) if found else None


@dataclass(frozen=True)
class Wave:
    """One wave of a rollout: the servers it creates, then the gate that must pass before the next wave."""

    resources: tuple[str, ...]  # droplet names, or the auto-scaling group's name
    servers: int  # servers this wave creates (droplets, or the group's desired capacity)
    gate: str
    gate_expects: int  # servers of this rollout the gate waits for, this wave's and every earlier one's
    cloud: str  # "digitalocean" | "aws"
    template: str | None = None  # AWS: the launch template the group starts its instances from
    generation: str | None = None  # AWS: the generation the gate counts


def _wave(gate: Mapping[str, Any], members: list[Mapping[str, Any]], by_urn: Mapping[str, Mapping[str, Any]]) -> Wave:
    command = str(gate["inputs"].get("create", ""))
    names = tuple(r["name"] for r in members)
    if any(r["type"] == AUTO_SCALING_GROUP for r in members):
        servers = sum(int(r["inputs"].get("desiredCapacity", 0)) for r in members)
        templates = sorted({by_urn[urn]["name"] for r in members for urn in r.get("dependsOn", []) if urn in by_urn and by_urn[urn]["type"] == LAUNCH_TEMPLATE})
        expects = _flag(command, "--expect-count")
        return Wave(names, servers, gate["name"], int(expects) if expects else servers, "aws", ", ".join(templates) or None, _flag(command, "--expect-generation"))
    instances = _flag(command, "--expect-instances")
    return Wave(names, len(members), gate["name"], len(instances.split(",")) if instances else len(members), "digitalocean")


def plan_waves(plan: Mapping[str, Any]) -> list[Wave]:
    """The waves in the order the engine runs them; empty if the plan has no gate."""
    by_urn = {r["urn"]: r for r in plan["resources"]}
    servers = {urn for urn, r in by_urn.items() if r["type"] in SERVER_TYPES}
    gates = [r for r in plan["resources"] if is_gate(r)]
    members_of_gate = {gate["urn"]: sorted(set(gate.get("dependsOn", [])) & servers) for gate in gates}
    waves: list[Wave] = []
    placed: set[str] = set()
    for _ in range(len(gates)):
        for gate in gates:
            if gate["urn"] in placed:
                continue
            # A gate is next once every gate its servers wait for is already placed.
            waited = {dep for urn in members_of_gate[gate["urn"]] for dep in by_urn[urn].get("dependsOn", []) if dep in members_of_gate}
            if waited <= placed:
                placed.add(gate["urn"])
                waves.append(_wave(gate, [by_urn[urn] for urn in members_of_gate[gate["urn"]]], by_urn))
                break
    return waves


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def wave_line(number: int, wave: Wave, previous: Wave | None) -> str:
    """One wave in words of its cloud: what it creates, after which gate, and what its gate waits for."""
    after = f" (after {previous.gate} passed)" if previous else ""
    if wave.cloud == "aws":
        group = "auto-scaling group" if len(wave.resources) == 1 else "auto-scaling groups"
        template = f" of launch template {wave.template}" if wave.template else ""
        generation = f" of generation {wave.generation}" if wave.generation else ""
        earlier = " (this wave's and the earlier waves')" if wave.gate_expects > wave.servers else ""
        verb = "answers" if wave.gate_expects == 1 else "answer"
        return (
            f"wave {number}: {group} {', '.join(wave.resources)}, {_count(wave.servers, 'instance')}{template}{after}"
            f" -> gate {wave.gate}: waits until {_count(wave.gate_expects, 'instance')}{generation}{earlier} {verb} healthy through the load balancer"
        )
    these = "this droplet" if wave.servers == 1 else f"these {wave.servers} droplets"
    return (
        f"wave {number}: {'droplet' if len(wave.resources) == 1 else 'droplets'} {', '.join(wave.resources)}{after}"
        f" -> gate {wave.gate}: waits until {these} (by id) {'answers' if wave.servers == 1 else 'answer'} healthy through the load balancer"
    )


def waves_heading(waves: list[Wave]) -> str:
    old = "the old auto-scaling groups and their instances" if waves and waves[0].cloud == "aws" else "the old droplets"
    return f"each wave is created only after the previous wave's gate passed; {old} are deleted after the last gate"


def render_waves(plan: Mapping[str, Any]) -> list[str]:
    waves = plan_waves(plan)
    if not waves:
        return []
    lines = ["", f"Rollout order ({waves_heading(waves)}):"]
    lines += [f"  {wave_line(number, wave, waves[number - 2] if number > 1 else None)}" for number, wave in enumerate(waves, start=1)]
    return lines
