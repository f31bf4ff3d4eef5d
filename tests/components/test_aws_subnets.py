"""The AWS network's subnet layout (pure)."""

from __future__ import annotations

import ipaddress

import pytest

from components.aws.subnets import subnet_cidrs


@pytest.mark.parametrize("zones", [2, 3, 4])
def test_one_public_and_one_private_subnet_per_zone_inside_the_vpc_without_overlap(zones):
    public, private = subnet_cidrs("10.20.0.0/16", zones)
    assert len(public) == len(private) == zones
    networks = [ipaddress.ip_network(cidr) for cidr in public + private]
    vpc = ipaddress.ip_network("10.20.0.0/16")
    assert all(network.subnet_of(vpc) and network.prefixlen == 20 for network in networks)  # type: ignore[arg-type]
    assert len(set(networks)) == len(networks) and all(not a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])


def test_adding_a_zone_moves_no_existing_subnet():
    two, three = subnet_cidrs("10.20.0.0/16", 2), subnet_cidrs("10.20.0.0/16", 3)
    assert three[0][:2] == two[0] and three[1][:2] == two[1]


@pytest.mark.parametrize(("cidr", "zones", "message"), [("10.20.0.0/18", 2, "too small"), ("10.20.0.0/16", 5, "2 to 4"), ("fd00::/48", 2, "IPv4")])
def test_refuses_what_cannot_hold_the_layout(cidr, zones, message):
    with pytest.raises(ValueError, match=message):
        subnet_cidrs(cidr, zones)
