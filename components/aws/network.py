"""AwsNetwork: a VPC over several availability zones, and the security groups that say who may talk to whom.

Creates a VPC, one public and one private subnet in each of the first
`availability_zone_count` zones the region offers, an internet gateway with a
route table for the public subnets only, a route table without any default
route for the private subnets, and four security groups:

* ``load_balancer``: HTTP and HTTPS from anywhere, out only to the fleet's app port;
* ``fleet``: the app port from the load balancer's group only; out only to the
  database and to the SSM endpoint (no SSH, nothing from the internet);
* ``database``: PostgreSQL from the fleet's group only;
* ``endpoints``: HTTPS from the fleet's group only.

The instances and the database live in the private subnets and have no route
to the internet: an immutable image downloads nothing at boot, so there is no
NAT gateway to pay for. What they do reach: the database; SSM Parameter
Store (the one secret fetched at boot) through an interface endpoint with
private DNS; the instance metadata service, the Amazon DNS resolver and
the Amazon Time Sync Service, which security groups do not filter.

On AWS trust is a security group (on DigitalOcean it is the fleet tag):
because every generation of instances carries the same group, a replaced
fleet is admitted by the load balancer and the database without either changing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.subnets import subnet_cidrs

HTTPS_PORT = 443
POSTGRES_PORT = 5432


@dataclass(frozen=True, kw_only=True)
class AwsNetworkArgs:
    region: str
    cidr_block: str
    """The VPC's IPv4 range, e.g. 10.20.0.0/16; each subnet takes a /20 of it (components.aws.subnets)."""
    availability_zone_count: int
    """How many zones the subnets span (2 or more: the load balancer and a Multi-AZ database need two)."""
    app_port: int
    tags: Mapping[str, str]
    """Tags every taggable child carries (the provider's default tags add nothing per resource here)."""
    name_prefix: str
    """Readable prefix for the console's Name tags, e.g. hello-aws-staging."""


class AwsNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    load_balancer_security_group_id: pulumi.Output[str]
    fleet_security_group_id: pulumi.Output[str]
    database_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def tagged(label: str) -> dict[str, str]:
            return {**args.tags, "Name": f"{args.name_prefix}-{label}"}

        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr_block, enable_dns_support=True, enable_dns_hostnames=True, tags=tagged("vpc"), opts=child)
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self)).names
        public_cidrs, private_cidrs = subnet_cidrs(args.cidr_block, args.availability_zone_count)

        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tagged("igw"), opts=child)
        public_routes = aws.ec2.RouteTable(
            f"{name}-public-routes",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags=tagged("public"),
            opts=child,
        )
        # No default route: the private subnets reach only the VPC (and its endpoints).
        private_routes = aws.ec2.RouteTable(f"{name}-private-routes", vpc_id=vpc.id, tags=tagged("private"), opts=child)

        public, private = [], []
        for index in range(args.availability_zone_count):
            zone = zones[index]
            subnet = aws.ec2.Subnet(
                f"{name}-public-{index}", vpc_id=vpc.id, cidr_block=public_cidrs[index], availability_zone=zone, map_public_ip_on_launch=False, tags=tagged(f"public-{index}"), opts=child
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{index}-routes", subnet_id=subnet.id, route_table_id=public_routes.id, opts=child)
            public.append(subnet)
            subnet = aws.ec2.Subnet(f"{name}-private-{index}", vpc_id=vpc.id, cidr_block=private_cidrs[index], availability_zone=zone, tags=tagged(f"private-{index}"), opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}-routes", subnet_id=subnet.id, route_table_id=private_routes.id, opts=child)
            private.append(subnet)

        def group(label: str, description: str) -> aws.ec2.SecurityGroup:
            # No inline rules: the rules below are their own resources, so groups can refer to each other.
            return aws.ec2.SecurityGroup(f"{name}-{label}", vpc_id=vpc.id, description=description, tags=tagged(label), opts=child)

        balancer = group("load-balancer", "The load balancer: HTTP(S) from anywhere, out to the fleet's app port")
        fleet = group("fleet", "Fleet instances: the app port from the load balancer only")
        database = group("database", "The database: PostgreSQL from the fleet only")
        endpoints = group("endpoints", "VPC interface endpoints: HTTPS from the fleet only")

        def ingress(label: str, target: aws.ec2.SecurityGroup, port: int, *, source: aws.ec2.SecurityGroup | None = None, cidr_ipv4: str | None = None, cidr_ipv6: str | None = None) -> None:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-{label}",
                security_group_id=target.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=source.id if source is not None else None,
                cidr_ipv4=cidr_ipv4,
                cidr_ipv6=cidr_ipv6,
                tags=tagged(label),
                opts=child,
            )

        def egress(label: str, source: aws.ec2.SecurityGroup, port: int, target: aws.ec2.SecurityGroup) -> None:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-{label}", security_group_id=source.id, ip_protocol="tcp", from_port=port, to_port=port, referenced_security_group_id=target.id, tags=tagged(label), opts=child
            )

        for port in (80, HTTPS_PORT):
            ingress(f"load-balancer-in-{port}-ipv4", balancer, port, cidr_ipv4="0.0.0.0/0")
            ingress(f"load-balancer-in-{port}-ipv6", balancer, port, cidr_ipv6="::/0")
        egress("load-balancer-out-fleet", balancer, args.app_port, fleet)
        ingress("fleet-in-load-balancer", fleet, args.app_port, source=balancer)
        egress("fleet-out-database", fleet, POSTGRES_PORT, database)
        egress("fleet-out-endpoints", fleet, HTTPS_PORT, endpoints)
        ingress("database-in-fleet", database, POSTGRES_PORT, source=fleet)
        ingress("endpoints-in-fleet", endpoints, HTTPS_PORT, source=fleet)

        # The one AWS API an instance calls (the boot-time secret fetch): reached privately, without a NAT gateway.
        aws.ec2.VpcEndpoint(
            f"{name}-ssm",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{args.region}.ssm",
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=[subnet.id for subnet in private],
            security_group_ids=[endpoints.id],
            tags=tagged("ssm"),
            opts=child,
        )

        self.vpc_id = vpc.id
        self.public_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in public])
        self.private_subnet_ids = pulumi.Output.all(*[subnet.id for subnet in private])
        self.load_balancer_security_group_id = balancer.id
        self.fleet_security_group_id = fleet.id
        self.database_security_group_id = database.id
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "load_balancer_security_group_id": self.load_balancer_security_group_id,
                "fleet_security_group_id": self.fleet_security_group_id,
                "database_security_group_id": self.database_security_group_id,
            }
        )
