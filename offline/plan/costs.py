"""What a plan costs a month at list prices, and how many servers a rollout runs at its peak. Pure.

Prices are list prices, not measured here, and they change; the diff prints them as "about".
- Droplets: DigitalOcean's published monthly price per size, as the API stand-in's catalogue holds it
  (do_stand_in/catalogue.py, DROPLET_SIZES).
- DigitalOcean managed PostgreSQL per node and the load balancer per node: digitalocean.com/pricing
  (managed databases, load balancers), 2025.
- AWS, us-east-1 on-demand, 2025, as docs/aws.md#costs gives them: aws.amazon.com/ec2/pricing,
  /rds/postgresql/pricing, /elasticloadbalancing/pricing, /privatelink/pricing, /vpc/pricing (public IPv4).
Not counted: traffic, load-balancer capacity units, snapshots and AMIs, backups beyond the database's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from do_stand_in.catalogue import DROPLET_SIZES

AWS_HOURS_A_MONTH = 730

DO_DATABASE_NODE_MONTHLY = {"db-s-1vcpu-1gb": 15.0, "db-s-1vcpu-2gb": 30.0, "db-s-2vcpu-4gb": 60.0, "db-s-4vcpu-8gb": 120.0}
DO_LOAD_BALANCER_NODE_MONTHLY = 12.0
AWS_INSTANCE_HOURLY = {"t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "m7i.large": 0.1008}
AWS_RDS_SINGLE_AZ_HOURLY = {"db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.m7g.large": 0.168}  # Multi-AZ: twice
AWS_RDS_GP3_GB_MONTHLY = 0.115  # Multi-AZ: twice
AWS_ALB_HOURLY = 0.0225
AWS_PUBLIC_IPV4_HOURLY = 0.005  # each of the ALB's addresses, one per zone
AWS_INTERFACE_ENDPOINT_ZONE_HOURLY = 0.01

DROPLET = "digitalocean:index/droplet:Droplet"
AUTO_SCALING_GROUP = "aws:autoscaling/group:Group"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


@dataclass(frozen=True)
class Cost:
    monthly: float
    unpriced: tuple[str, ...]  # resources whose size the table does not know ("fleet-0 (c-4)")


def _instance_type(plan: Mapping[str, Any]) -> str | None:
    templates = [r for r in plan["resources"] if r["type"] == LAUNCH_TEMPLATE]
    return str(templates[0]["inputs"].get("instanceType")) if templates else None


def _monthly(resource: Mapping[str, Any], instance_type: str | None) -> float | None:
    """The resource's monthly list price; 0.0 for what is free or not counted; None when its size is not in the table."""
    kind, inputs = resource["type"], resource["inputs"]
    if kind == DROPLET:
        size = DROPLET_SIZES.get(str(inputs.get("size")))
        return None if size is None else size[4]
    if kind == "digitalocean:index/databaseCluster:DatabaseCluster":
        node = DO_DATABASE_NODE_MONTHLY.get(str(inputs.get("size")))
        return None if node is None else node * int(inputs.get("nodeCount", 1))
    if kind == "digitalocean:index/loadBalancer:LoadBalancer":
        return DO_LOAD_BALANCER_NODE_MONTHLY * int(inputs.get("sizeUnit", 1))
    if kind == AUTO_SCALING_GROUP:
        hourly = AWS_INSTANCE_HOURLY.get(str(instance_type))
        return None if hourly is None else hourly * int(inputs.get("desiredCapacity", 0)) * AWS_HOURS_A_MONTH
    if kind == "aws:rds/instance:Instance":
        hourly = AWS_RDS_SINGLE_AZ_HOURLY.get(str(inputs.get("instanceClass")))
        copies = 2 if inputs.get("multiAz") else 1
        return None if hourly is None else copies * (hourly * AWS_HOURS_A_MONTH + AWS_RDS_GP3_GB_MONTHLY * int(inputs.get("allocatedStorage", 0)))
    if kind == "aws:lb/loadBalancer:LoadBalancer":
        return (AWS_ALB_HOURLY + AWS_PUBLIC_IPV4_HOURLY * len(inputs.get("subnets", []))) * AWS_HOURS_A_MONTH
    if kind == "aws:ec2/vpcEndpoint:VpcEndpoint" and inputs.get("vpcEndpointType") == "Interface":
        return AWS_INTERFACE_ENDPOINT_ZONE_HOURLY * len(inputs.get("subnetIds", [])) * AWS_HOURS_A_MONTH
    return 0.0


def monthly_cost(plan: Mapping[str, Any]) -> Cost:
    instance_type = _instance_type(plan)
    total, unpriced = 0.0, []
    for resource in plan["resources"]:
        if not resource["custom"]:
            continue
        price = _monthly(resource, instance_type)
        if price is None:
            size = resource["inputs"].get("size") or resource["inputs"].get("instanceClass") or instance_type
            unpriced.append(f"{resource['name']} ({size})")
        else:
            total += price
    return Cost(round(total, 2), tuple(unpriced))


def server_count(resource: Mapping[str, Any]) -> int:
    """Servers a resource runs: 1 for a droplet, an auto-scaling group's desired capacity, 0 for anything else."""
    if resource["type"] == DROPLET:
        return 1
    if resource["type"] == AUTO_SCALING_GROUP:
        return int(resource["inputs"].get("desiredCapacity", 0))
    return 0


def servers(plan: Mapping[str, Any]) -> int:
    return sum(server_count(r) for r in plan["resources"] if r["custom"])


def builder_size(bake: Mapping[str, Any]) -> str:
    """The temporary builder a bake runs: its Packer variable, or the template's default (images/*/variables.pkr.hcl)."""
    environment = bake["inputs"].get("environment")
    environment = environment if isinstance(environment, dict) else {}
    if "amazon-ebs." in str(bake["inputs"].get("create", "")):
        return str(environment.get("PKR_VAR_aws_instance_type", "t3.micro"))
    return str(environment.get("PKR_VAR_size", "s-1vcpu-1gb"))
