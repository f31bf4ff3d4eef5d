"""Dns and DnsZone built with explicit args."""

from __future__ import annotations

import pytest
from conftest import DNS_RECORD, DOMAIN

import offline.harness
from components.digitalocean.dns import Dns, DnsArgs, DnsZone, DnsZoneArgs
from offline.harness import run_under_mocks


@pytest.mark.parametrize(("record", "fqdn"), [("www", "www.example.org"), ("@", "example.org")])
def test_a_record_points_at_the_balancer(record, fqdn):
    def body():
        import pulumi

        dns = Dns("name", DnsArgs(domain="example.org", record=record, ip="198.51.100.9", ttl=120))
        pulumi.export("fqdn", dns.fqdn)

    run = run_under_mocks(body)
    assert run.of_type(DNS_RECORD)[0].inputs == {"domain": "example.org", "type": "A", "name": record, "value": "198.51.100.9", "ttl": 120}
    assert run.outputs["fqdn"] == fqdn
    assert run.of_type(DOMAIN) == []
    assert run.of_type(DNS_RECORD)[0].options["dependencies"] == []


def test_managed_zone_is_protected_and_its_record_waits_for_it():
    def body():
        zone = DnsZone("name", DnsZoneArgs(domain="example.org"))
        Dns("name", DnsArgs(domain="example.org", record="www", ip="198.51.100.9", zone=zone.zone))

    run = run_under_mocks(body)
    zone, record = run.of_type(DOMAIN)[0], run.of_type(DNS_RECORD)[0]
    assert zone.name == "name-zone" and zone.inputs == {"name": "example.org"} and zone.options["protect"] is True
    assert zone.urn in record.options["dependencies"], f"{record.name} must be created after the zone it is in"
    assert record.inputs["domain"] == "example.org"


def test_managed_zone_keeps_the_state_it_had_under_the_dns_component(monkeypatch):
    """The zone used to be a child of Dns; its alias must resolve to that URN, or the protected zone would be replaced."""
    aliases = {}
    register = offline.harness.RecordingMonitor.RegisterResource

    def recording_aliases(self, request):
        aliases[request.name] = list(request.aliases)
        return register(self, request)

    monkeypatch.setattr(offline.harness.RecordingMonitor, "RegisterResource", recording_aliases)
    run_under_mocks(lambda: DnsZone("dns", DnsZoneArgs(domain="example.org")), stack="prod")

    # How the engine turns an alias spec with a parent into a URN: the parent's type chain, the type, the name.
    [alias] = aliases["dns-zone"]
    parent_types = alias.spec.parentUrn.split("::")[2]
    old_urn = f"urn:pulumi:prod::immutable-web::{parent_types}${alias.spec.type or DOMAIN}::{alias.spec.name or 'dns-zone'}"
    # The zone's URN before DnsZone existed (recorded by `plan --json` with manageDomain on).
    assert old_urn == "urn:pulumi:prod::immutable-web::immutable-web:dns:Dns$digitalocean:index/domain:Domain::dns-zone"
