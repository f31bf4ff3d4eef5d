"""LoadBalancer: the one stable entry point in front of an ever-replaced fleet.

Creates a DigitalOcean load balancer in the VPC that targets the fleet tag, so
each new generation of droplets joins it by carrying the tag, and its HTTP
health check keeps any droplet that is not healthy (a bad image, a bad
config) out of traffic. With a domain and `tls`, it also creates a
Let's Encrypt certificate, serves HTTPS and redirects HTTP to HTTPS; when the
stack manages the domain's zone, the certificate waits for it (`tls_zone`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean


@dataclass(frozen=True, kw_only=True)
class HealthCheck:
    path: str
    port: int
    check_interval_seconds: int = 5
    response_timeout_seconds: int = 3
    # Two good answers in a row to take traffic, three bad ones to lose it: a new droplet
    # joins within ~10 s of being healthy, and one slow answer does not drop a good droplet.
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3


@dataclass(frozen=True, kw_only=True)
class LoadBalancerArgs:
    region: str
    vpc_id: pulumi.Input[str]
    droplet_tag: pulumi.Input[str]
    app_port: int
    health_check: HealthCheck
    tls_domain: str | None = None
    """A fully-qualified name in a domain DigitalOcean serves; None serves plain HTTP."""
    tls_zone: pulumi.Resource | None = None
    """The zone of `tls_domain` when this stack creates it (`DnsZone.zone`); None if it exists already."""


class LoadBalancer(pulumi.ComponentResource):
    ip: pulumi.Output[str]
    load_balancer_id: pulumi.Output[str]

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:lb:LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        forwarding_rules = [
            digitalocean.LoadBalancerForwardingRuleArgs(entry_port=80, entry_protocol="http", target_port=args.app_port, target_protocol="http"),
        ]
        if args.tls_domain is not None:
            certificate = digitalocean.Certificate(
                f"{name}-certificate",
                type="lets_encrypt",
                domains=[args.tls_domain],
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # A renamed domain gets its new certificate before the old one goes, so HTTPS never lapses.
                    delete_before_replace=False,
                    # DigitalOcean issues a Let's Encrypt certificate only for a zone it serves: asked before
                    # the stack's own zone exists, the certificate fails.
                    depends_on=[args.tls_zone] if args.tls_zone is not None else None,
                ),
            )
            forwarding_rules.append(
                digitalocean.LoadBalancerForwardingRuleArgs(entry_port=443, entry_protocol="https", target_port=args.app_port, target_protocol="http", certificate_name=certificate.name)
            )

        check = args.health_check
        balancer = digitalocean.LoadBalancer(
            f"{name}-lb",
            region=args.region,
            vpc_uuid=args.vpc_id,
            droplet_tag=args.droplet_tag,
            size_unit=1,
            forwarding_rules=forwarding_rules,
            healthcheck=digitalocean.LoadBalancerHealthcheckArgs(
                protocol="http",
                port=check.port,
                path=check.path,
                check_interval_seconds=check.check_interval_seconds,
                response_timeout_seconds=check.response_timeout_seconds,
                healthy_threshold=check.healthy_threshold,
                unhealthy_threshold=check.unhealthy_threshold,
            ),
            redirect_http_to_https=args.tls_domain is not None,
            # DigitalOcean's two policies: DEFAULT still offers CBC and non-forward-secret suites; STRONG keeps
            # TLS 1.2+ with ECDHE and AEAD only (the nearest to AWS's TLS 1.3 policy; no TLS 1.3-only policy here).
            tls_cipher_policy="STRONG" if args.tls_domain is not None else None,
            # Our Dns component owns the records; don't let DigitalOcean add its own for the certificate.
            disable_lets_encrypt_dns_records=True,
            opts=child,
        )

        self.ip = balancer.ip
        self.load_balancer_id = balancer.id
        self.register_outputs({"ip": self.ip, "load_balancer_id": self.load_balancer_id})
