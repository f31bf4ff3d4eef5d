"""HealthGate: `pulumi up` goes on only when the droplets it just created serve, healthy, through the load balancer.

Creates one `pulumi_command.local.Command` that runs `tools/health_gate.py` on
the machine running Pulumi, after a wave of new droplets exists. It polls the
app's deep health endpoint through the load balancer until every new droplet,
known by its instance id (the droplet id, which cloud-init hands the app),
has answered healthy with the new version, within a bounded timeout. An old
droplet has another id, so its answers never count, whatever forced the
replacement. If the timeout passes, the Command fails, so the update fails
before Pulumi deletes the replaced droplets: the old generation keeps serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command

from components.common.gate import gate_command


@dataclass(frozen=True, kw_only=True)
class HealthGateArgs:
    url: pulumi.Input[str]
    """Health endpoint through the load balancer, e.g. http://203.0.113.10/healthz."""
    expect_version: str
    timeout_seconds: int
    instance_ids: pulumi.Input[list[str]] | None = None
    """Ids of the droplets this gate waits for: every one must answer healthy; a new set re-runs the gate."""
    generation: pulumi.Input[str] | None = None
    """Instead of ids (an auto-scaling group starts its instances itself): the fleet generation new instances report."""
    expect_count: int = 0
    """With `generation`: how many distinct instances of it must answer healthy."""
    triggers: Sequence[pulumi.Input[object]] | None = None
    """What re-runs the gate; by default the instance ids (with a generation, say what: the new groups)."""
    resolve: pulumi.Input[str] | None = None
    """HOST:IP: connect to IP for HOST (an https name whose DNS has not propagated yet)."""
    python: str = "python3"


@dataclass(frozen=True, kw_only=True)
class GateSettings:
    """What every wave's health gate checks, and how long it may wait."""

    url: pulumi.Input[str]
    """The deep health endpoint through the load balancer."""
    timeout_seconds: int
    resolve: pulumi.Input[str] | None = None


class HealthGate(pulumi.ComponentResource):
    report: pulumi.Output[str]
    command: command.local.Command

    def __init__(self, name: str, args: HealthGateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:gate:HealthGate", name, None, opts)

        create = pulumi.Output.all(args.url, args.instance_ids, args.resolve, args.generation).apply(
            lambda values: gate_command(
                args.python,
                values[0],
                args.expect_version,
                None if values[1] is None else list(values[1]),
                args.timeout_seconds,
                values[2],
                generation=values[3],
                count=args.expect_count,
            )
        )
        self.command = wait = command.local.Command(
            f"{name}-wait",
            create=create,
            # Runs from the project directory (no absolute path in state; see ImageBuild).
            triggers=list(args.triggers) if args.triggers is not None else [args.instance_ids],
            opts=pulumi.ResourceOptions(
                parent=self,
                # The gate's own --timeout bounds the wait; this only backs it up.
                custom_timeouts=pulumi.CustomTimeouts(create=f"{args.timeout_seconds + 120}s"),
            ),
        )
        # The gate's last stdout line is a JSON summary: hosts seen, answers, seconds waited.
        self.report = wait.stdout
        self.register_outputs({"report": self.report})
