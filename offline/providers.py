"""What the offline tools know of the providers, beyond what the program declares."""

from __future__ import annotations

from collections.abc import Mapping

# Properties whose change makes the DigitalOcean provider replace the resource (ForceNew in the provider).
PROVIDER_REPLACES: Mapping[str, frozenset[str]] = {
    "digitalocean:index/droplet:Droplet": frozenset({"image", "region", "userData", "vpcUuid", "sshKeys"}),
    "digitalocean:index/vpc:Vpc": frozenset({"region", "ipRange"}),
    "digitalocean:index/tag:Tag": frozenset({"name"}),
    "digitalocean:index/loadBalancer:LoadBalancer": frozenset({"region", "vpcUuid"}),
    "digitalocean:index/certificate:Certificate": frozenset({"type", "domains", "name"}),
    "digitalocean:index/databaseCluster:DatabaseCluster": frozenset({"engine", "region", "privateNetworkUuid"}),
    "digitalocean:index/databaseDb:DatabaseDb": frozenset({"clusterId", "name"}),
    "digitalocean:index/databaseUser:DatabaseUser": frozenset({"clusterId", "name"}),
    "digitalocean:index/databaseFirewall:DatabaseFirewall": frozenset({"clusterId"}),
    "digitalocean:index/domain:Domain": frozenset({"name"}),
    "digitalocean:index/dnsRecord:DnsRecord": frozenset({"domain", "type"}),
}
