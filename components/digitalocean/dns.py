"""Dns: the app's name, pointing at the load balancer (never at a droplet).

Two halves, because the load balancer sits between them:

- `DnsZone` (only when the stack manages the domain) creates the zone in
  DigitalOcean DNS, protected. It comes first: DigitalOcean issues a
  Let's Encrypt certificate only for a zone it serves, so the load
  balancer's certificate waits for it.
- `Dns` creates an A record (TTL 60 by default, so a load balancer move is
  seen in a minute) pointing at the load balancer's IP.

Droplets are replaced under the load balancer, so a deploy never touches DNS.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean

DNS_TYPE = "immutable-web:dns:Dns"


@dataclass(frozen=True, kw_only=True)
class DnsZoneArgs:
    domain: str
    """The domain to serve from DigitalOcean DNS, e.g. example.com."""


class DnsZone(pulumi.ComponentResource):
    zone: digitalocean.Domain
    """The zone resource: what a certificate or a record in it depends on."""

    def __init__(self, name: str, args: DnsZoneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:dns:DnsZone", name, None, opts)
        self.zone = digitalocean.Domain(
            f"{name}-zone",
            name=args.domain,
            opts=pulumi.ResourceOptions(
                parent=self,
                # Deleting a zone takes every record in it, including ones this stack does not own.
                protect=True,
                # The zone was the Dns component's child (of the same name) before it had to exist ahead
                # of the load balancer: the alias moves it in the state instead of replacing it.
                aliases=[pulumi.Alias(parent=pulumi.create_urn(name, DNS_TYPE))],
            ),
        )
        self.register_outputs({"zone_name": self.zone.name})


@dataclass(frozen=True, kw_only=True)
class DnsArgs:
    domain: str
    record: str
    """Record name in the domain; @ for the apex."""
    ip: pulumi.Input[str]
    ttl: int = 60
    zone: digitalocean.Domain | None = None
    """The zone, when this stack manages it (`DnsZone.zone`); None if it exists already."""


class Dns(pulumi.ComponentResource):
    fqdn: pulumi.Output[str]

    def __init__(self, name: str, args: DnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(DNS_TYPE, name, None, opts)
        digitalocean.DnsRecord(
            f"{name}-record",
            domain=args.domain,
            type="A",
            name=args.record,
            value=args.ip,
            ttl=args.ttl,
            # A record in a zone this stack creates is created after the zone.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.zone] if args.zone is not None else None),
        )
        self.fqdn = pulumi.Output.from_input(args.domain if args.record == "@" else f"{args.record}.{args.domain}")
        self.register_outputs({"fqdn": self.fqdn})
