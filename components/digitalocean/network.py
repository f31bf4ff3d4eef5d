"""Network: the VPC every server and the database live in, and the fleet's tag.

The fleet tag exists before any droplet: the load balancer targets it, the
database firewall trusts it, and the fleet firewall attaches to it. Because
every generation of droplets carries the same tag, a replaced fleet is picked
up by all three without any of them changing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    region: str
    """DigitalOcean region slug, e.g. nyc3."""
    fleet_tag: str
    """Name of the tag every fleet droplet carries."""
    description: str
    """Shown on the VPC in the DigitalOcean console."""


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    fleet_tag: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # No fixed ip_range: DigitalOcean picks a free /20, so stacks in one region never overlap.
        vpc = digitalocean.Vpc(f"{name}-vpc", region=args.region, description=args.description, opts=child)
        tag = digitalocean.Tag(f"{name}-fleet-tag", name=args.fleet_tag, opts=child)

        self.vpc_id = vpc.id
        self.fleet_tag = tag.name
        self.register_outputs({"vpc_id": self.vpc_id, "fleet_tag": self.fleet_tag})
