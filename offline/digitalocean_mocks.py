"""Mock answers for the DigitalOcean resources and data sources the program uses, shaped like pulumi-digitalocean's.

A table by type token, like offline/aws_mocks.py: each entry takes the resource's
name, inputs and a stable key (which changes whenever the resource must be
replaced) and returns its id and the outputs the provider computes, in the real
formats (numeric droplet ids, UUIDs, `do:droplet:` URNs, managed-database host names).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi

from offline.mock_ids import auto_name, digest, ip, number, uuid

MOCK_DB_PASSWORD_PREFIX = "mock-db-password-"

# What `getDatabaseCa` returns: a real self-signed CA certificate, shaped like DigitalOcean's
# "<project uuid> Project CA" (made once with openssl; nothing trusts it).
MOCK_DATABASE_CA = """\
-----BEGIN CERTIFICATE-----
MIIDZTCCAk2gAwIBAgIUWHy7nHhIzBQk3AIIkG7f5QQh9UIwDQYJKoZIhvcNAQEL
BQAwOjE4MDYGA1UEAwwvM2Y5ZDJjMWUtNWI3YS00YzhlLTlkNjEtMmE0YjhjN2Uw
ZjEzIFByb2plY3QgQ0EwHhcNMjYxMTMwMTIzMTU5WhcNMzYxMTI3MTIzMTU5WjA6
MTgwNgYDVQQDDC8zZjlkMmMxZS01YjdhLTRjOGUtOWQ2MS0yYTRiOGM3ZTBmMTMg
UHJvamVjdCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBALaq508L
EmeOvsffdCnVCtIS8JfILhIOJDfgP9LNBPD/fUl2uc6iTHsIiebZtOfXMia6zwiC
elnhHo443HIGVpN2C/boLshO8P5+lohPkWbxT37LXITF9H6bnvhhzxA7Q+Xshia2
qem7t6I1IiWOmqYezlvGspSzec4BeRO+SPJV2cywgxtwTGXcZpKnD1CDONq6u0Qa
09ZKm1b83OmhAfy+ynZmG0fkefXm/H0qmdoS7MZd6n91IfVUvBclVaYLTLSPsRkc
MtlXOq2Eyp5+EjE+Wrkm4voMmMuoojDilptw9+e0rO2fnW/OZsDpvs4IlBFDtyP7
hzE4yeA0GnBle60CAwEAAaNjMGEwHQYDVR0OBBYEFCJtvYoUmGBUAF5jj9M13ge9
Kq40MB8GA1UdIwQYMBaAFCJtvYoUmGBUAF5jj9M13ge9Kq40MA8GA1UdEwEB/wQF
MAMBAf8wDgYDVR0PAQH/BAQDAgEGMA0GCSqGSIb3DQEBCwUAA4IBAQAxoh8c1vuY
uu4Wrk9+jUIfsZQyznt6ArJfMaRAOI8ceCm0X7cYI4dA8MxTmkpgGJubQJxOA5Jf
6WC282z5+tAtEZ/ukMxqGnwn5SEvF9ju/XO7erw5mm+NpYtHYT0g9qLElTutYIFL
lmzNhoI9utdeU8A3yXAd7Qxi48I4atBrwbLKv655eAQgF1AhPFT6LVKsIYVeycQR
Bmq51n5OGJGmo4AYt6YgSW8Ut+qLSs0iRDCua1F5fhvrmxFQRy4584HiDKUrcD5G
P8xV4CP74f8hL4GJJhJB5SRgAQAuUh4ukscPf/wNFhl92Txo7LqcYG8ZaLPWaVVM
EGjp7chQPrUS
-----END CERTIFICATE-----
"""


Handler = Callable[[str, dict[str, Any], tuple[str, ...]], tuple[str, dict[str, Any]]]


def _name(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> str:
    """The physical name: the one the program gave, else Pulumi's auto-name."""
    return inputs["name"] if "name" in inputs else auto_name(name, *key)


def _vpc(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    resource_id = uuid(*key)
    return resource_id, {"name": _name(name, inputs, key), "ipRange": "10.116.0.0/20", "urn": f"do:vpc:{resource_id}", "default": False}


def _tag(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    return inputs["name"], {}


def _droplet(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    resource_id = number(*key)
    return resource_id, {
        "ipv4Address": ip("203.0.113", *key),
        "ipv4AddressPrivate": ip("10.116.0", *key),
        "status": "active",
        "dropletUrn": f"do:droplet:{resource_id}",
        "urn": f"do:droplet:{resource_id}",
        "disk": 25,
        "memory": 1024,
        "vcpus": 1,
    }


def _load_balancer(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    resource_id = uuid(*key)
    return resource_id, {"name": _name(name, inputs, key), "ip": ip("198.51.100", *key), "status": "active", "loadBalancerUrn": f"do:loadbalancer:{resource_id}"}


def _certificate(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    resource_id = uuid(*key)
    return resource_id, {"name": _name(name, inputs, key), "state": "verified", "uuid": resource_id}


def _database_cluster(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    resource_id = uuid(*key)
    cluster = f"db-postgresql-{inputs.get('region', 'nyc3')}-{number(*key, digits=5)}"
    return resource_id, {
        "name": _name(name, inputs, key),
        "host": f"{cluster}-do-user-0.g.db.ondigitalocean.com",
        "privateHost": f"private-{cluster}-do-user-0.g.db.ondigitalocean.com",
        "port": 25060,
        "database": "defaultdb",
        "user": "doadmin",
        "password": pulumi.Output.secret("mock-admin-password-" + digest(*key)[:16]),
        "urn": f"do:dbaas:{resource_id}",
    }


def _database_user(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    return number(*key), {"password": MOCK_DB_PASSWORD_PREFIX + digest(*key)[:16], "role": "normal"}


def _database_db(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    return f"{inputs.get('cluster_id', inputs.get('clusterId'))}/database/{inputs['name']}", {}


def _firewall(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    return uuid(*key), {"name": _name(name, inputs, key), "status": "succeeded"}


def _database_firewall(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    return uuid(*key), {}


def _domain(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    return inputs["name"], {"urn": f"do:domain:{inputs['name']}", "ttl": 1800}


def _dns_record(name: str, inputs: dict[str, Any], key: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    fqdn = f"{inputs['name']}.{inputs['domain']}" if inputs["name"] != "@" else inputs["domain"]
    return number(*key), {"fqdn": fqdn}


RESOURCES: Mapping[str, Handler] = {
    "digitalocean:index/vpc:Vpc": _vpc,
    "digitalocean:index/tag:Tag": _tag,
    "digitalocean:index/droplet:Droplet": _droplet,
    "digitalocean:index/loadBalancer:LoadBalancer": _load_balancer,
    "digitalocean:index/certificate:Certificate": _certificate,
    "digitalocean:index/databaseCluster:DatabaseCluster": _database_cluster,
    "digitalocean:index/databaseUser:DatabaseUser": _database_user,
    "digitalocean:index/databaseDb:DatabaseDb": _database_db,
    "digitalocean:index/firewall:Firewall": _firewall,
    "digitalocean:index/databaseFirewall:DatabaseFirewall": _database_firewall,
    "digitalocean:index/domain:Domain": _domain,
    "digitalocean:index/dnsRecord:DnsRecord": _dns_record,
}


def snapshot(name: str, snapshot_id: str, region: str) -> dict[str, Any]:
    """What `getDropletSnapshot` returns for a snapshot the account holds."""
    return {"id": snapshot_id, "name": name, "region": region, "regions": [region], "minDiskSize": 25, "size": 2.4, "dropletId": "0", "createdAt": "2026-11-20T10:00:00Z"}


def snapshot_id(image_name: str) -> str:
    """The id a bake of ``image_name`` produces (the bake Command's output and promote's lookup agree)."""
    return number("snapshot", image_name)


def packer_machine_readable(build: str, region: str, snapshot_id: str, image_name: str) -> str:
    """What `packer build -machine-readable` prints for a DigitalOcean build, trimmed to its shape."""
    t = "1700000000"
    return "\n".join(
        [
            f"{t},,ui,say,==> {build}: Creating temporary RSA SSH key for instance...",
            f"{t},{build},ui,say,==> {build}: Creating snapshot: {image_name}",
            f"{t},,ui,say,Build '{build}' finished after 6 minutes 2 seconds.",
            f"{t},{build},artifact-count,1",
            f"{t},{build},artifact,0,builder-id,pearkes.digitalocean",
            f"{t},{build},artifact,0,id,{region}:{snapshot_id}",
            f"{t},{build},artifact,0,string,A snapshot was created: '{image_name}' (ID: {snapshot_id}) in regions '{region}'",
            f"{t},{build},artifact,0,end",
        ]
    )
