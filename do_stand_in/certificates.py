"""Certificates made with the ``openssl`` command: a database cluster's CA and its server certificate.

DigitalOcean gives each database cluster a CA of its own (``GET /v2/databases/{id}/ca``)
and the cluster serves a certificate it signed for its host names; clients verify both
(``sslmode=verify-full``). The ``api`` backend needs only a real CA certificate to hand
out (the program checks that it is PEM); the ``process`` backend also signs the local
PostgreSQL's certificate with it.
"""

from __future__ import annotations

import ipaddress
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

OPENSSL_TIMEOUT_SECONDS = 60


def _openssl(*arguments: str | Path) -> None:
    subprocess.run(["openssl", *map(str, arguments)], check=True, capture_output=True, timeout=OPENSSL_TIMEOUT_SECONDS)


def make_ca(folder: Path, common_name: str) -> tuple[Path, Path]:
    """(key, certificate) of a new CA in ``folder``."""
    key, certificate = folder / "ca.key", folder / "ca.crt"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", certificate, "-days", "30", "-subj", f"/CN={common_name}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return key, certificate


def sign_server(folder: Path, ca_key: Path, ca_certificate: Path, host_names: Sequence[str]) -> tuple[Path, Path]:
    """(key, certificate) for a server answering at ``host_names`` (IP addresses or DNS names), signed by the CA."""
    key, request, certificate, extensions = folder / "server.key", folder / "server.csr", folder / "server.crt", folder / "server.ext"
    alt_names = ",".join(f"IP:{name}" if is_address(name) else f"DNS:{name}" for name in host_names)
    extensions.write_text(f"subjectAltName={alt_names}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", request, "-subj", f"/CN={host_names[0]}")
    _openssl("x509", "-req", "-in", request, "-CA", ca_certificate, "-CAkey", ca_key, "-set_serial", "1", "-days", "30", "-extfile", extensions, "-out", certificate)
    request.unlink()
    extensions.unlink()
    return key, certificate


def placeholder_ca() -> str:
    """PEM of a CA whose key is thrown away: a cluster's CA where no server is behind it."""
    with tempfile.TemporaryDirectory(prefix="do-stand-in-ca-") as folder:
        _, certificate = make_ca(Path(folder), "do-stand-in database CA")
        return certificate.read_text()


def is_address(name: str) -> bool:
    """Whether a certificate name is an IP address (a subjectAltName IP entry) rather than a DNS name."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
