"""Network built with explicit args."""

from __future__ import annotations

from components.digitalocean.network import Network, NetworkArgs
from offline.harness import run_under_mocks


def test_vpc_and_fleet_tag_are_children_of_the_network():
    run = run_under_mocks(lambda: Network("net", NetworkArgs(region="lon1", fleet_tag="x-fleet", description="x")))
    vpc = run.named("net-vpc")
    tag = run.named("net-fleet-tag")
    assert vpc.inputs == {"region": "lon1", "description": "x"} and vpc.parent_name == "net"
    assert tag.inputs == {"name": "x-fleet"} and tag.parent_name == "net"
