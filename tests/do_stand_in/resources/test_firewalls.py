"""Firewall rules come back as DigitalOcean answers them, which the provider's reading of them expects."""

from __future__ import annotations

from do_stand_in_harness import Client


def test_all_ports_and_an_icmp_rule_without_ports_are_answered_as_port_0(client: Client) -> None:
    # The provider sends an icmp rule without ports (godo omits an empty port range) and maps "0" back to
    # "all", or to nothing for icmp (terraform-provider-digitalocean, firewall/firewalls.go).
    firewall = client.expect(
        202,
        "POST",
        "/v2/firewalls",
        {
            "name": "fleet",
            "inbound_rules": [{"protocol": "tcp", "ports": "all", "sources": {"addresses": ["192.0.2.0/24"]}}],
            "outbound_rules": [{"protocol": "icmp", "destinations": {"addresses": ["0.0.0.0/0"]}}],
        },
    )["firewall"]
    assert [rule["ports"] for rule in firewall["inbound_rules"] + firewall["outbound_rules"]] == ["0", "0"]


def test_a_rule_from_a_load_balancer_that_does_not_exist_is_refused(client: Client) -> None:
    status, answer = client.call(
        "POST", "/v2/firewalls", {"name": "fleet", "inbound_rules": [{"protocol": "tcp", "ports": "8080", "sources": {"load_balancer_uids": ["4de7ac8b-495b-4884-9a69-1050c6793cd6"]}}]}
    )
    assert (status, answer["id"]) == (422, "unprocessable_entity")
