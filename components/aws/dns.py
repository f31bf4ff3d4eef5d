"""AwsDns: the app's name in an existing Route53 hosted zone, an alias to the load balancer.

Creates one alias A record (no TTL of its own: Route53 answers with the ALB's
current addresses, and evaluates the ALB's health), never a record pointing at
an instance: instances come and go with every image, the name does not.
The hosted zone is looked up by name (it belongs to the account, not to this
stack: the domain's registrar points at it).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class AwsDnsArgs:
    zone_id: pulumi.Input[str]
    fqdn: str
    """The record's fully-qualified name, e.g. www.example.com or example.com."""
    load_balancer_dns_name: pulumi.Input[str]
    load_balancer_zone_id: pulumi.Input[str]


class AwsDns(pulumi.ComponentResource):
    fqdn: pulumi.Output[str]

    def __init__(self, name: str, args: AwsDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:aws:Dns", name, None, opts)
        record = aws.route53.Record(
            f"{name}-alias",
            zone_id=args.zone_id,
            name=args.fqdn,
            type="A",
            aliases=[aws.route53.RecordAliasArgs(name=args.load_balancer_dns_name, zone_id=args.load_balancer_zone_id, evaluate_target_health=True)],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.fqdn = record.fqdn
        self.register_outputs({"fqdn": self.fqdn})


def hosted_zone_id(zone_name: str, parent: pulumi.Resource | None = None) -> pulumi.Output[str]:
    """The id of the account's public hosted zone for ``zone_name`` (a provider data source; fails if there is none)."""
    return aws.route53.get_zone_output(name=zone_name, private_zone=False, opts=pulumi.InvokeOutputOptions(parent=parent)).zone_id
