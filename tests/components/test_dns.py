"""Dns built with explicit args."""

from __future__ import annotations

import pytest
from conftest import DNS_RECORD

from components.dns import Dns, DnsArgs
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
    assert run.of_type("digitalocean:index/domain:Domain") == []
