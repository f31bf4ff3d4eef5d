"""Deterministic mock identifiers: the same resource (type, name and the inputs that force a replacement) gets the same id in every run."""

from __future__ import annotations

import hashlib


def digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def number(*parts: str, digits: int = 9) -> str:
    """A decimal id of ``digits`` digits (DigitalOcean's droplet and snapshot ids)."""
    return str(int(digest(*parts), 16) % (9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def uuid(*parts: str) -> str:
    """A version-4-shaped UUID (DigitalOcean's VPC, load balancer, database ids)."""
    h = digest(*parts)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def ip(prefix: str, *parts: str) -> str:
    """An address in the /24 ``prefix`` (three octets)."""
    return f"{prefix}.{int(digest(*parts), 16) % 250 + 2}"


def auto_name(name: str, *parts: str) -> str:
    """Pulumi's auto-naming: the logical name plus a 7-character suffix."""
    return f"{name}-{digest(name, *parts)[:7]}"
