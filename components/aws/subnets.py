"""Subnet ranges for the AWS network: pure, so the layout is tested without Pulumi."""

from __future__ import annotations

import ipaddress

SUBNET_PREFIX = 20
"""Each subnet is a /20 (4091 usable addresses): room for any fleet, its replacement and the database."""


def subnet_cidrs(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(public, private) CIDRs, one of each per zone: public ones first in the range, private ones after.

    Deterministic: the same VPC range and zone count give the same subnets, so
    adding nothing moves nothing (a moved subnet is a replaced subnet).
    """
    network = ipaddress.ip_network(vpc_cidr, strict=True)
    if network.version != 4:
        raise ValueError(f"the VPC range must be IPv4, not {vpc_cidr}")
    if network.prefixlen > SUBNET_PREFIX - 3:
        raise ValueError(f"the VPC range {vpc_cidr} is too small: it needs /{SUBNET_PREFIX - 3} or larger for up to 4 zones of /{SUBNET_PREFIX} subnets")
    if not 2 <= zones <= 4:
        raise ValueError(f"zones must be 2 to 4, not {zones}")
    blocks = list(network.subnets(new_prefix=SUBNET_PREFIX))
    return [str(block) for block in blocks[:zones]], [str(block) for block in blocks[4 : 4 + zones]]
