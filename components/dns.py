"""Dns: the app's name, pointing at the load balancer (never at a droplet).

Creates an A record (TTL 60 by default, so a load balancer move is seen in a
minute) and, optionally, the domain zone itself. Droplets are replaced under
the load balancer, so a deploy never touches DNS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean


@dataclass(frozen=True, kw_only=True)
class DnsArgs:
    domain: str
    record: str
    """Record name in the domain; @ for the apex."""
    ip: pulumi.Input[str]
    ttl: int = 60
    manage_domain: bool = False
    """Create the zone in DigitalOcean DNS (else it must exist already)."""


class Dns(pulumi.ComponentResource):
    fqdn: pulumi.Output[str]

    def __init__(self, name: str, args: DnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:dns:Dns", name, None, opts)

        domain_name: pulumi.Input[str] = args.domain
        if args.manage_domain:
            zone = digitalocean.Domain(
                f"{name}-zone",
                name=args.domain,
                # Deleting a zone takes every record in it, including ones this stack does not own.
                opts=pulumi.ResourceOptions(parent=self, protect=True),
            )
            domain_name = zone.name
        digitalocean.DnsRecord(
            f"{name}-record",
            domain=domain_name,
            type="A",
            name=args.record,
            value=args.ip,
            ttl=args.ttl,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.fqdn = pulumi.Output.from_input(args.domain if args.record == "@" else f"{args.record}.{args.domain}")
        self.register_outputs({"fqdn": self.fqdn})
