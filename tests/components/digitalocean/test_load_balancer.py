"""LoadBalancer built with explicit args."""

from __future__ import annotations

import pulumi_digitalocean as digitalocean
from conftest import CERTIFICATE, DOMAIN, LOAD_BALANCER

from components.digitalocean.load_balancer import HealthCheck, LoadBalancer, LoadBalancerArgs
from offline.harness import run_under_mocks


def build(tls_domain=None, *, with_zone=False):
    def body():
        zone = digitalocean.Domain("zone", name="example.org") if with_zone else None
        args = LoadBalancerArgs(region="sfo3", vpc_id="vpc-2", droplet_tag="t", app_port=8000, health_check=HealthCheck(path="/up", port=8000), tls_domain=tls_domain, tls_zone=zone)
        LoadBalancer("edge", args)

    return run_under_mocks(body)


def test_plain_http_balancer_health_checks_the_app():
    run = build()
    balancer = run.of_type(LOAD_BALANCER)[0]
    assert run.of_type(CERTIFICATE) == []
    assert balancer.inputs["healthcheck"] == {
        "protocol": "http",
        "port": 8000,
        "path": "/up",
        "checkIntervalSeconds": 5,
        "responseTimeoutSeconds": 3,
        "healthyThreshold": 2,
        "unhealthyThreshold": 3,
    }
    assert balancer.inputs["dropletTag"] == "t" and balancer.inputs["vpcUuid"] == "vpc-2"


def test_tls_balancer_gets_a_certificate_https_and_a_redirect():
    run = build("app.example.org")
    certificate = run.of_type(CERTIFICATE)[0]
    balancer = run.of_type(LOAD_BALANCER)[0]
    assert certificate.inputs["domains"] == ["app.example.org"] and certificate.parent_name == "edge"
    assert balancer.inputs["redirectHttpToHttps"] is True and balancer.inputs["disableLetsEncryptDnsRecords"] is True
    assert {r["entryProtocol"] for r in balancer.inputs["forwardingRules"]} == {"http", "https"}
    # Not DigitalOcean's DEFAULT policy (CBC and non-forward-secret suites): its STRONG one.
    assert balancer.inputs["tlsCipherPolicy"] == "STRONG"


def test_certificate_waits_for_the_zone_the_stack_creates():
    run = build("app.example.org", with_zone=True)
    certificate, zone = run.of_type(CERTIFICATE)[0], run.of_type(DOMAIN)[0]
    assert zone.urn in certificate.options["dependencies"], f"{certificate.name}: DigitalOcean issues no certificate before it serves the zone"


def test_certificate_for_an_existing_zone_waits_for_nothing():
    certificate = build("app.example.org").of_type(CERTIFICATE)[0]
    assert certificate.options["dependencies"] == [], certificate.name
