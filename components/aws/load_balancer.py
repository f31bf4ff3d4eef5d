"""AwsLoadBalancer: an application load balancer, the stable entry point in front of an ever-replaced fleet.

Creates an internet-facing ALB in the public subnets and one target group (HTTP
to the app port, health check on the image's readiness path with explicit
interval, timeout and thresholds, and a deregistration delay derived from the
app's drain window). Every generation's auto-scaling group registers its
instances in the same target group, so the group decides who takes traffic.

With a domain (`tls_domain`): an ACM certificate validated by DNS in the
Route53 hosted zone (the validation records and the validation resource), an
HTTPS listener with a current TLS policy and an HTTP listener that redirects to
HTTPS. Without one: HTTP on the ALB's own DNS name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# TLS 1.2 and 1.3 only, forward-secret ciphers (the ALB's recommended policy as of 2023).
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@dataclass(frozen=True, kw_only=True)
class AwsHealthCheck:
    path: str
    port: int
    interval_seconds: int = 5
    timeout_seconds: int = 3
    # As on DigitalOcean: two good answers to take traffic, three bad ones to lose it.
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3


@dataclass(frozen=True, kw_only=True)
class AwsLoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]]
    """Public subnets, one per zone."""
    security_group_id: pulumi.Input[str]
    app_port: int
    health_check: AwsHealthCheck
    deregistration_delay_seconds: int
    """How long a leaving instance keeps its in-flight requests (the app's drain window plus in-flight grace)."""
    tags: Mapping[str, str]
    tls_domain: str | None = None
    """A fully-qualified name in `hosted_zone_id`; None serves plain HTTP on the ALB's DNS name."""
    hosted_zone_id: pulumi.Input[str] | None = None


class AwsLoadBalancer(pulumi.ComponentResource):
    dns_name: pulumi.Output[str]
    zone_id: pulumi.Output[str]
    """The ALB's own hosted zone id (for a Route53 alias record)."""
    target_group_arn: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: AwsLoadBalancerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:aws:LoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=args.subnet_ids,
            security_groups=[args.security_group_id],
            # A request with a malformed header never reaches the app.
            drop_invalid_header_fields=True,
            tags=tags,
            opts=child,
        )
        check = args.health_check
        target_group = aws.lb.TargetGroup(
            f"{name}-targets",
            vpc_id=args.vpc_id,
            port=args.app_port,
            protocol="HTTP",
            target_type="instance",
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=check.path,
                port=str(check.port),
                protocol="HTTP",
                matcher="200",
                interval=check.interval_seconds,
                timeout=check.timeout_seconds,
                healthy_threshold=check.healthy_threshold,
                unhealthy_threshold=check.unhealthy_threshold,
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                # A new target group (e.g. a new app port) before the old one goes: the listener moves over, no gap.
                delete_before_replace=False,
            ),
        )
        forward = [aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target_group.arn)]

        if args.tls_domain is None:
            aws.lb.Listener(f"{name}-http", load_balancer_arn=balancer.arn, port=80, protocol="HTTP", default_actions=forward, tags=tags, opts=child)
        else:
            if args.hosted_zone_id is None:
                raise ValueError("tls_domain needs hosted_zone_id (the certificate is validated by DNS in that zone)")
            certificate = aws.acm.Certificate(
                f"{name}-certificate",
                domain_name=args.tls_domain,
                validation_method="DNS",
                tags=tags,
                # A renamed domain gets its new certificate before the old one goes, so HTTPS never lapses.
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
            )
            option = certificate.domain_validation_options[0]
            record = aws.route53.Record(
                f"{name}-certificate-validation-record",
                zone_id=args.hosted_zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=300,
                # The same validation name is kept across certificate replacements: take it over, don't fail.
                allow_overwrite=True,
                opts=child,
            )
            validated = aws.acm.CertificateValidation(f"{name}-certificate-validation", certificate_arn=certificate.arn, validation_record_fqdns=[record.fqdn], opts=child)
            aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=balancer.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=TLS_POLICY,
                # The validated ARN: the listener waits until ACM has issued the certificate.
                certificate_arn=validated.certificate_arn,
                default_actions=forward,
                tags=tags,
                opts=child,
            )
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(protocol="HTTPS", port="443", status_code="HTTP_301"))],
                tags=tags,
                opts=child,
            )

        self.dns_name = balancer.dns_name
        self.zone_id = balancer.zone_id
        self.arn = balancer.arn
        self.target_group_arn = target_group.arn
        self.register_outputs({"dns_name": self.dns_name, "zone_id": self.zone_id, "arn": self.arn, "target_group_arn": self.target_group_arn})
