"""Mock answers for the AWS resources and data sources the program uses, shaped like pulumi-aws's.

A table by type token: each entry takes the resource's inputs (and a stable key
that changes whenever the resource must be replaced) and returns its id and the
outputs the provider computes. Ids and ARNs have the real formats (`vpc-` and 17
hex digits, `arn:aws:...`), so code that parses or concatenates them is tested
against realistic values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from offline.mock_ids import auto_name, digest, uuid

ACCOUNT = "123456789012"
# The hosted zone id of every ALB in a region (Route53 alias targets name it). us-east-1's; others are documented per region.
ALB_ZONE_IDS = {"us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2", "eu-central-1": "Z215JYRZR1TBD5"}
MOCK_HOSTED_ZONE_ID = "Z0123456789ABCDEFGHIJ"


def _hex_id(prefix: str, *parts: str) -> str:
    return f"{prefix}-{digest(*parts)[:17]}"


Handler = Callable[[str, dict[str, Any], tuple[str, ...], str], tuple[str, dict[str, Any]]]


def _arn(service: str, region: str, resource: str, *, global_service: bool = False) -> str:
    return f"arn:aws:{service}:{'' if global_service else region}:{ACCOUNT}:{resource}"


def _vpc(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    vpc_id = _hex_id("vpc", *key)
    return vpc_id, {
        "arn": _arn("ec2", region, f"vpc/{vpc_id}"),
        "defaultSecurityGroupId": _hex_id("sg", "default", *key),
        "mainRouteTableId": _hex_id("rtb", "main", *key),
        "ownerId": ACCOUNT,
    }


def _simple(prefix: str, kind: str) -> Handler:
    def handler(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
        resource_id = _hex_id(prefix, *key)
        return resource_id, {"arn": _arn("ec2", region, f"{kind}/{resource_id}"), "ownerId": ACCOUNT}

    return handler


def _security_group(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    group_id = _hex_id("sg", *key)
    return group_id, {"arn": _arn("ec2", region, f"security-group/{group_id}"), "name": inputs.get("name") or auto_name(name, *key), "ownerId": ACCOUNT}


def _rule(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    rule_id = _hex_id("sgr", *key)
    return rule_id, {"arn": _arn("ec2", region, f"security-group-rule/{rule_id}"), "securityGroupRuleId": rule_id}


def _endpoint(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    endpoint_id = _hex_id("vpce", *key)
    return endpoint_id, {
        "arn": _arn("ec2", region, f"vpc-endpoint/{endpoint_id}"),
        "state": "available",
        "dnsEntries": [{"dnsName": f"{endpoint_id}.ssm.{region}.vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"}],
    }


def _load_balancer(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or auto_name(name, *key)[:32]
    arn = _arn("elasticloadbalancing", region, f"loadbalancer/app/{physical}/{digest(*key)[:16]}")
    return arn, {"arn": arn, "name": physical, "dnsName": f"{physical}-{int(digest(*key)[:8], 16) % 10**10}.{region}.elb.amazonaws.com", "zoneId": ALB_ZONE_IDS.get(region, "Z35SXDOTRQ7X7K")}


def _target_group(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or auto_name(name, *key)[:32]
    arn = _arn("elasticloadbalancing", region, f"targetgroup/{physical}/{digest(*key)[:16]}")
    return arn, {"arn": arn, "name": physical}


def _listener(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    arn = _arn("elasticloadbalancing", region, f"listener/app/{digest('lb', *key)[:16]}/{digest(*key)[:16]}")
    return arn, {"arn": arn}


def _certificate(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    arn = _arn("acm", region, f"certificate/{digest(*key)[:8]}-{digest(*key)[8:12]}-4{digest(*key)[13:16]}-a{digest(*key)[17:20]}-{digest(*key)[20:32]}")
    domain = inputs["domainName"]
    token = digest("validation", *key)
    return arn, {
        "arn": arn,
        "status": "PENDING_VALIDATION",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{token[:32]}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{token[32:64]}.xlfgrmvvlj.acm-validations.aws.",
            }
        ],
    }


def _certificate_validation(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    return "2026-11-30 12:00:00 +0000 UTC", {}


def _record(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    record_name = str(inputs["name"]).rstrip(".")
    return f"{inputs['zoneId']}_{record_name}_{inputs['type']}", {"fqdn": record_name}


def _db_instance(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    identifier = inputs.get("identifier") or auto_name(name, *key)
    address = f"{identifier}.c{digest(*key)[:12]}.{region}.rds.amazonaws.com"
    return f"db-{digest(*key)[:26].upper()}", {
        "identifier": identifier,
        "address": address,
        "endpoint": f"{address}:5432",
        "port": 5432,
        "arn": _arn("rds", region, f"db:{identifier}"),
        "resourceId": f"db-{digest('resource', *key)[:26].upper()}",
        "status": "available",
        "caCertIdentifier": "rds-ca-rsa2048-g1",
    }


def _named(service: str, kind: str, *, global_service: bool = False) -> Handler:
    def handler(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
        physical = inputs.get("name") or auto_name(name, *key)
        return physical, {"name": physical, "arn": _arn(service, region, f"{kind}{physical}", global_service=global_service)}

    return handler


def _parameter(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    physical = inputs["name"]
    return physical, {"arn": _arn("ssm", region, f"parameter{physical}"), "version": 1, "tier": "Standard"}


def _role_policy(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or auto_name(name, *key)
    return f"{inputs['role']}:{physical}", {"name": physical}


def _launch_template(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    template_id = f"lt-{digest(*key)[:17]}"
    return template_id, {"arn": _arn("ec2", region, f"launch-template/{template_id}"), "name": inputs.get("name") or auto_name(name, *key), "latestVersion": 1, "defaultVersion": 1}


def _ami_copy(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    """A copy lives in its own `region` (pulumi-aws 7's per-resource region), not the provider's; an AMI's ARN has no account."""
    copy_region = inputs.get("region") or region
    image_id = _hex_id("ami", *key)
    return image_id, {
        "region": copy_region,
        "arn": f"arn:aws:ec2:{copy_region}::image/{image_id}",
        "ownerId": ACCOUNT,
        "architecture": "x86_64",
        "virtualizationType": "hvm",
        "rootDeviceName": "/dev/xvda",
        "rootSnapshotId": _hex_id("snap", *key),
        "enaSupport": True,
        "imageType": "machine",
        # Encrypted without a kms_key_id: the region's default EBS key (the provider reads its ARN back).
        "kmsKeyId": f"arn:aws:kms:{copy_region}:{ACCOUNT}:key/{uuid('aws/ebs', copy_region)}" if inputs.get("encrypted") else "",
        "manageEbsSnapshots": True,
        "public": False,
    }


def _group(name: str, inputs: dict[str, Any], key: tuple[str, ...], region: str) -> tuple[str, dict[str, Any]]:
    physical = inputs.get("name") or auto_name(name, *key)
    return physical, {"name": physical, "arn": _arn("autoscaling", region, f"autoScalingGroup:{digest(*key)[:8]}-{digest(*key)[8:12]}:autoScalingGroupName/{physical}")}


RESOURCES: Mapping[str, Handler] = {
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/subnet:Subnet": _simple("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": _simple("igw", "internet-gateway"),
    "aws:ec2/routeTable:RouteTable": _simple("rtb", "route-table"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _simple("rtbassoc", "route-table-association"),
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _rule,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _rule,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:lb/targetGroup:TargetGroup": _target_group,
    "aws:lb/listener:Listener": _listener,
    "aws:acm/certificate:Certificate": _certificate,
    "aws:acm/certificateValidation:CertificateValidation": _certificate_validation,
    "aws:route53/record:Record": _record,
    "aws:rds/instance:Instance": _db_instance,
    "aws:rds/subnetGroup:SubnetGroup": _named("rds", "subgrp:"),
    "aws:rds/parameterGroup:ParameterGroup": _named("rds", "pg:"),
    "aws:ssm/parameter:Parameter": _parameter,
    "aws:iam/role:Role": _named("iam", "role/", global_service=True),
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/instanceProfile:InstanceProfile": _named("iam", "instance-profile/", global_service=True),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:autoscaling/group:Group": _group,
    "aws:ec2/amiCopy:AmiCopy": _ami_copy,
}


def availability_zones(region: str) -> dict[str, Any]:
    """`aws.get_availability_zones`: three zones, as most regions have."""
    letters = "abc"
    return {"id": region, "names": [f"{region}{letter}" for letter in letters], "zoneIds": [f"use1-az{n}" for n in (1, 2, 4)], "state": "available"}


def hosted_zone(name: str) -> dict[str, Any]:
    """`aws.route53.get_zone`: the account's public zone for ``name``."""
    zone = name.rstrip(".")
    return {"id": MOCK_HOSTED_ZONE_ID, "zoneId": MOCK_HOSTED_ZONE_ID, "name": zone, "privateZone": False, "arn": f"arn:aws:route53:::hostedzone/{MOCK_HOSTED_ZONE_ID}"}


def ami_id(image_name: str, region: str) -> str:
    return _hex_id("ami", image_name, region)


def packer_machine_readable(build: str, amis: Mapping[str, str], image_name: str) -> str:
    """What `packer build -machine-readable` prints for an amazon-ebs build: one REGION:AMI per region, sorted by region."""
    t = "1700000000"
    listed = "%!(PACKER_COMMA)".join(f"{region}:{ami}" for region, ami in sorted(amis.items()))
    return "\n".join(
        [
            f"{t},{build},ui,say,==> {build}: Creating AMI {image_name} from instance i-0123456789abcdef0",
            f"{t},{build},artifact-count,1",
            f"{t},{build},artifact,0,builder-id,mitchellh.amazonebs",
            f"{t},{build},artifact,0,id,{listed}",
            f"{t},{build},artifact,0,string,AMIs were created:\\n{listed}",
            f"{t},{build},artifact,0,end",
        ]
    )
