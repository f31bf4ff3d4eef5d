"""What the offline tools know of the providers, beyond what the program declares.

PROVIDER_REPLACES lists, per resource type, the inputs whose change makes the
DigitalOcean provider replace the resource, read from the provider's schema
(terraform-provider-digitalocean, `digitalocean/<dir>/resource_<name>.go`):
`ForceNew: true` fields, and `customdiff.ForceNewIfChange` rules, which force a
new resource only for some changes. Schema fields are snake_case there; Pulumi
inputs are camelCase here. What is not listed updates in place.

The AWS provider's table (terraform-provider-aws) is in ``offline.aws_force_new``,
with file and line for each entry; it joins this one here. A nested field that
forces a new resource (``initialLifecycleHooks.name``) counts as its top-level
input changing; its CustomizeDiff rules (``AWS_CONDITIONAL_FORCE_NEW``) are
listed there and not applied by the mocks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from offline.aws_force_new import AWS_FORCE_NEW

# A rule: None when any change forces a new resource (ForceNew), else a predicate on (old, new) (ForceNewIfChange).
ForceNewRule = Callable[[Any, Any], bool] | None


def turned_off(old: Any, new: Any) -> bool:
    """true -> false (an unset bool is false, as in the provider)."""
    return bool(old) and not bool(new)


DIGITALOCEAN_REPLACES: Mapping[str, Mapping[str, ForceNewRule]] = {
    # droplet/resource_droplet.go; `size` resizes in place, `ipv6` false -> true enables it in place.
    "digitalocean:index/droplet:Droplet": {
        "image": None,
        "region": None,
        "publicNetworking": None,
        "sshKeys": None,
        "userData": None,
        "monitoring": None,
        "dropletAgent": None,
        "vpcUuid": None,
        "gpuPartitionMode": None,
        "ipv6": turned_off,
    },
    # vpc/resource_vpc.go
    "digitalocean:index/vpc:Vpc": {"region": None, "ipRange": None},
    # tag/resource_tag.go
    "digitalocean:index/tag:Tag": {"name": None},
    # loadbalancer/resource_loadbalancer.go
    "digitalocean:index/loadBalancer:LoadBalancer": {
        "region": None,
        "vpcUuid": None,
        "subnetUuid": None,
        "ip": None,
        "type": None,
        "network": None,
        "networkStack": None,
    },
    # certificate/resource_certificate.go
    "digitalocean:index/certificate:Certificate": {
        "name": None,
        "privateKey": None,
        "leafCertificate": None,
        "certificateChain": None,
        "domains": None,
        "type": None,
    },
    # database/resource_database_cluster.go; a new `region` migrates the cluster in place (Databases.Migrate).
    "digitalocean:index/databaseCluster:DatabaseCluster": {"name": None, "engine": None, "privateNetworkUuid": None, "projectId": None},
    # database/resource_database_db.go, resource_database_user.go, resource_database_firewall.go
    "digitalocean:index/databaseDb:DatabaseDb": {"name": None, "clusterId": None},
    "digitalocean:index/databaseUser:DatabaseUser": {"name": None, "clusterId": None},
    "digitalocean:index/databaseFirewall:DatabaseFirewall": {"clusterId": None},
    # domain/resource_domain.go, domain/resource_record.go
    "digitalocean:index/domain:Domain": {"name": None, "ipAddress": None},
    "digitalocean:index/dnsRecord:DnsRecord": {"type": None, "domain": None},
}


def _aws_replaces() -> dict[str, dict[str, ForceNewRule]]:
    return {token: {path.split(".")[0]: None for path in paths} for token, paths in AWS_FORCE_NEW.items()}


PROVIDER_REPLACES: Mapping[str, Mapping[str, ForceNewRule]] = {**DIGITALOCEAN_REPLACES, **_aws_replaces()}


def forces_replacement(resource_type: str, key: str, old: Any, new: Any) -> bool:
    """Whether changing input ``key`` from ``old`` to ``new`` makes the provider replace the resource."""
    rules = PROVIDER_REPLACES.get(resource_type, {})
    if key not in rules or old == new:
        return False
    rule = rules[key]
    return rule is None or rule(old, new)


def always_replaces(resource_type: str) -> frozenset[str]:
    """The inputs whose every change forces a new resource (the mocks give such a resource a new id)."""
    return frozenset(key for key, rule in PROVIDER_REPLACES.get(resource_type, {}).items() if rule is None)
