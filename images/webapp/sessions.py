"""The app's session: a small JSON document in a cookie, encrypted and signed with APP_SECRET.

Fernet (Debian's python3-cryptography): AES-128-CBC with an HMAC-SHA256 over it, so the client can
neither read nor alter it, with the time it was made inside. The Fernet key is derived from
APP_SECRET with HKDF-SHA256 (a label of its own: the same secret used elsewhere yields other keys),
so any server of either generation, given the same secret, reads any server's cookie: the load
balancer needs no stickiness and a replacement logs nobody out.

Rotating APP_SECRET: new cookies are made with the new secret; one made with APP_SECRET_PREVIOUS is
still read (and re-made with the new one on the next response) while that variable is set: the
grace period. Without it, every live session starts over, nothing worse. A cookie that does not
decrypt (tampered, foreign, expired, another secret) is ignored: a new session, never an error.
"""

from __future__ import annotations

import base64
import json
from typing import Any

COOKIE_NAME = "webapp_session"
# How long a session lives without a visit (the cookie's Max-Age, and the oldest token accepted).
MAX_AGE_SECONDS = 30 * 24 * 3600
# The HKDF label: a new session format gets a new label, and old cookies simply start over.
KEY_INFO = b"webapp session cookie v1"
# Cookies larger than this are not ours (a session here is a few fields).
MAX_COOKIE_BYTES = 2048


def derive_key(secret: str) -> bytes:
    """A Fernet key (32 bytes, urlsafe base64) from APP_SECRET."""
    from cryptography.hazmat.primitives import hashes  # imported late: the app listens first
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(secret.encode())
    return base64.urlsafe_b64encode(raw)


class SessionCodec:
    """Encrypts with the current secret; decrypts with it or the previous one (the grace period)."""

    def __init__(self, secret: str, previous: str | None = None):
        from cryptography.fernet import Fernet, MultiFernet

        keys = [Fernet(derive_key(secret))]
        if previous and previous != secret:
            keys.append(Fernet(derive_key(previous)))
        self._fernet = MultiFernet(keys)

    def dump(self, session: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(session, separators=(",", ":")).encode()).decode()

    def load(self, token: str | None) -> dict[str, Any]:
        """The session in the cookie, or a new (empty) one if there is none we can trust."""
        if not token or len(token) > MAX_COOKIE_BYTES:
            return {}
        try:
            session = json.loads(self._fernet.decrypt(token.encode(), ttl=MAX_AGE_SECONDS))
        except Exception:  # noqa: BLE001 - InvalidToken, bad base64, bad JSON: any of them means "not a session of ours"
            return {}
        return session if isinstance(session, dict) else {}


def cookie_token(header: str | None) -> str | None:
    """Our cookie's value from a Cookie header, or None; a malformed header is no cookie."""
    if not header:
        return None
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME:
            return value.strip('"')
    return None


def set_cookie(token: str, *, secure: bool) -> str:
    """The Set-Cookie value: script cannot read it, other sites do not send it, HTTPS only behind HTTPS."""
    attributes = [f"{COOKIE_NAME}={token}", "Path=/", f"Max-Age={MAX_AGE_SECONDS}", "HttpOnly", "SameSite=Lax"]
    if secure:
        attributes.append("Secure")
    return "; ".join(attributes)
