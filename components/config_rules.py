"""What DigitalOcean and this program accept in the stack config: catalogues and pure checks.

``components.config`` reads the raw values and calls these; each check returns
the problems it finds (worded for the key being checked, never echoing a value
that may be a credential) so the loader can report every problem at once. No
cloud calls: regions and slugs are checked against DigitalOcean's published
lists and formats.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

# DigitalOcean regions that offer droplets, load balancers, VPCs and managed
# PostgreSQL (https://docs.digitalocean.com/platform/regional-availability/).
DIGITALOCEAN_REGIONS = ("ams3", "atl1", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1")

# Droplet size slugs: a family prefix, then vCPU/memory parts
# (s-1vcpu-1gb, s-2vcpu-4gb-amd, c-4, g-2vcpu-8gb, m-2vcpu-16gb, so1_5-2vcpu-16gb, gd-4vcpu-16gb-intel).
DROPLET_SIZE_PATTERN = re.compile(r"^(s|c|c2|g|gd|m|m3|m6|so|so1_5)-[0-9]+(vcpu)?(-[0-9]+gb)?(-(amd|intel|[0-9]+gb))*$")
# Managed database size slugs: db-s-1vcpu-1gb, db-s-2vcpu-4gb, gd-2vcpu-8gb, so1_5-2vcpu-16gb, db-amd-1vcpu-1gb ...
DATABASE_SIZE_PATTERN = re.compile(r"^(db-(s|amd|intel)|gd|m|so1_5)-[0-9]+vcpu-[0-9]+gb$")
# The smallest plan is a single node: DigitalOcean offers no standby node on it.
SINGLE_NODE_DATABASE_SIZES = ("db-s-1vcpu-1gb",)
DATABASE_VERSIONS = ("13", "14", "15", "16", "17")
APP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
VERSION_PATTERN = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9a-z]+(\.[0-9a-z]+)*)?$")
SOURCE_HASH_PATTERN = re.compile(r"^[0-9a-f]{12}$")
BASE_IMAGE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,62}$")
DOMAIN_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
RECORD_PATTERN = re.compile(r"^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$")
# DigitalOcean tag names: letters, numbers, colons, dashes and underscores, up to 255.
TAG_PATTERN = re.compile(r"^[A-Za-z0-9:_-]{1,255}$")
SSH_KEY_PATTERN = re.compile(r"^([0-9]{1,12}|([0-9a-f]{2}:){15}[0-9a-f]{2})$")
# The stack name goes into droplet hostnames (no _ or .) and tags (no .): refused, not rewritten,
# since two stacks rewritten to one name would share a fleet tag and each other's load balancer.
STACK_NAME_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,40}$")

# Name tokens (NAME split on _) that mark an environment variable as a credential.
CREDENTIAL_TOKENS = frozenset(
    {
        "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASS", "PASSWD", "PASSPHRASE", "PWD",
        "TOKEN", "TOKENS", "KEY", "KEYS", "APIKEY", "SECRETKEY", "ACCESSKEY", "PRIVATEKEY",
        "CREDENTIAL", "CREDENTIALS", "CREDS", "PRIVATE", "DSN", "AUTH", "AUTHTOKEN",
    }
)  # fmt: skip
# A URL carrying userinfo: scheme://user:password@host or scheme://key@host.
URL_USERINFO_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s]+@")


def env_credential_problem(name: str, value: str) -> str | None:
    """Why ``NAME=value`` looks like a credential (which must not sit in plain text), or None."""
    tokens = set(name.split("_")) & CREDENTIAL_TOKENS
    if tokens:
        return (
            f"{name} looks like a credential (its name has {', '.join(sorted(tokens))}): env values are plain text in the stack file; use appSecret (a Pulumi secret) or the managed database instead"
        )
    if URL_USERINFO_PATTERN.search(value):
        return f"{name} holds a URL with credentials (scheme://user:password@ or scheme://key@): env values are plain text; use appSecret instead"
    return None


def cidr_problems(entries: Sequence[str]) -> tuple[tuple[str, ...], list[str]]:
    """The CIDR blocks in canonical form, and what is wrong with them (the whole internet, alone or together)."""
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    problems: list[str] = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry, strict=True)
        except ValueError:
            try:
                loose = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                problems.append(f"{entry!r} is not a CIDR block like 203.0.113.7/32")
            else:
                address = entry.split("/")[0]
                single = f"{address}/{loose.max_prefixlen}"
                problems.append(f"{entry!r} has host bits set; did you mean {loose} (or {single} for the one address)?")
            continue
        if network.prefixlen == 0:
            problems.append(f"{entry} opens SSH to the whole internet; list the operators' addresses instead")
            continue
        networks.append(network)
    for everything in (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")):
        same_family = [n for n in networks if n.version == everything.version]
        if everything in ipaddress.collapse_addresses(same_family):  # type: ignore[type-var]  # one address family by construction; the stubs cannot say so
            problems.append(f"{', '.join(map(str, same_family))} together open SSH to the whole internet ({everything}); list the operators' addresses instead")
    return tuple(str(n) for n in networks), problems


def dns_record_problem(record: str, domain: str) -> str | None:
    """Why ``record`` cannot be a record name in ``domain`` (it already names the domain), or None."""
    if record == domain or record.endswith("." + domain):
        relative = record[: -len(domain)].rstrip(".") or "@"
        return f"{record!r} already contains the domain {domain}, which would make {record}.{domain}; set dnsRecord to {relative!r}"
    return None
