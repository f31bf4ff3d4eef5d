"""What this program accepts in the stack config on any cloud: formats and pure checks.

``config.shared`` reads the raw values and calls these; each check returns
the problems it finds (worded for the key being checked, never echoing a value
that may be a credential) so the loader can report every problem at once.
Each cloud's catalogue (regions, size slugs, tag format) is in its own module,
``config.digitalocean``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

# PostgreSQL major versions the app and its image are tested with.
DATABASE_VERSIONS = ("13", "14", "15", "16", "17")
APP_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
VERSION_PATTERN = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9a-z]+(\.[0-9a-z]+)*)?$")
SOURCE_HASH_PATTERN = re.compile(r"^[0-9a-f]{12}$")
DOMAIN_PATTERN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# A RELP-over-TLS destination: a lower-case DNS name (its certificate is checked against it) and a port.
LOG_DESTINATION_PATTERN = re.compile(r"^(?P<host>([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z]([a-z0-9-]{0,61}[a-z0-9])?):(?P<port>[0-9]{1,5})$")
RECORD_PATTERN = re.compile(r"^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$")

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


def log_destination_problem(destination: str) -> str | None:
    """Why ``destination`` cannot be a RELP-over-TLS destination (host:port, the host a DNS name), or None."""
    match = LOG_DESTINATION_PATTERN.fullmatch(destination)
    if match is None:
        host = destination.rpartition(":")[0].strip("[]")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return f"must be host:port with a lower-case DNS name, like logs.example.com:2514; got {destination!r}"
        return f"{host} is an address: the receiver's certificate is checked against a host name, so give the name it was issued for (logs.example.com:2514)"
    if not 1 <= int(match["port"]) <= 65535:
        return f"port must be from 1 to 65535; got {match['port']}"
    return None


# The stack name goes into resource names on both clouds (droplet hostnames, tags; RDS's final snapshot
# identifier, `<app>-<stack>-final`, letters, digits and -): refused, not rewritten, since two stacks
# rewritten to one name would share names and, on DigitalOcean, a fleet tag.
STACK_NAME_PATTERN = re.compile(r"[A-Za-z0-9-]{1,40}")


def stack_name_problem(stack: str) -> str | None:
    """Why ``stack`` cannot name this program's resources, or None (a problem line of its own: no key to name)."""
    if STACK_NAME_PATTERN.fullmatch(stack):
        return None
    return (
        f"stack {stack!r}: the stack name becomes part of resource names (droplet hostnames and tags, RDS identifiers), which allow only letters, digits and - "
        f"(up to 40); rename it, e.g. pulumi stack rename {re.sub(r'[^A-Za-z0-9-]+', '-', stack)[:40]}"
    )


def dns_record_problem(record: str, domain: str) -> str | None:
    """Why ``record`` cannot be a record name in ``domain`` (it already names the domain), or None."""
    if record == domain or record.endswith("." + domain):
        relative = record[: -len(domain)].rstrip(".") or "@"
        return f"{record!r} already contains the domain {domain}, which would make {record}.{domain}; set dnsRecord to {relative!r}"
    return None
