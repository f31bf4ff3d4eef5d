"""images/scripts/database-ca.sh: an AWS bake puts RDS's CA bundle where the app's DATABASE_SSLROOTCERT names it; other bakes do nothing.

The script runs here as Packer's shell provisioner runs it in the builder (PACKER_BUILDER_TYPE
set), with the bundle served from a file:// URL instead of AWS's trust store (no network here)
and installed under a temporary directory instead of /etc/webapp.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import require_tools

from components.common.cloud_init import RDS_CA_BUNDLE_PATH

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "images" / "scripts" / "database-ca.sh"
pytestmark = require_tools("openssl", "python3")


def certificate(directory: Path, name: str, *, authority: bool) -> str:
    """A self-signed certificate, a CA or not (RDS's bundle holds only CAs: roots and intermediates)."""
    constraints = "critical,CA:TRUE" if authority else "critical,CA:FALSE"
    pem = directory / f"{name}.pem"
    key = directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(pem), "-days", "2", "-subj", f"/CN={name}", "-addext", f"basicConstraints={constraints}"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return pem.read_text()


def run(tmp_path: Path, builder: str, bundle: str | None) -> tuple[subprocess.CompletedProcess, Path]:
    source = tmp_path / "served-bundle.pem"
    if bundle is not None:
        source.write_text(bundle)
    installed = tmp_path / "etc" / "webapp" / "rds-ca-bundle.pem"
    env = {"PATH": os.environ["PATH"], "PACKER_BUILDER_TYPE": builder, "DATABASE_CA_BUNDLE_URL": source.as_uri(), "DATABASE_CA_BUNDLE_PATH": str(installed)}
    return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60), installed


def test_the_default_destination_is_where_the_apps_env_points():
    assert f"DATABASE_CA_BUNDLE_PATH:-{RDS_CA_BUNDLE_PATH}}}" in SCRIPT.read_text()


def test_an_aws_bake_installs_every_ca_of_the_bundle_world_readable(tmp_path):
    bundle = certificate(tmp_path, "Amazon RDS test Root CA", authority=True) + certificate(tmp_path, "Amazon RDS test Intermediate", authority=True)
    result, installed = run(tmp_path, "amazon-ebs", bundle)
    assert result.returncode == 0, result.stderr
    assert "2 CA certificates" in result.stdout
    assert installed.read_text().count("BEGIN CERTIFICATE") == 2
    assert installed.stat().st_mode & 0o777 == 0o644, "the app reads it as its own user"


@pytest.mark.parametrize(
    ("bundle", "message"),
    [("not a certificate\n", "holds no PEM certificate"), (None, "No such file"), ("leaf", "1 of 2 certificates are not CAs")],
    ids=["not-pem", "unreachable", "not-a-ca"],
)
def test_a_bundle_that_is_not_cas_fails_the_bake_and_installs_nothing(tmp_path, bundle, message):
    if bundle == "leaf":
        bundle = certificate(tmp_path, "ca", authority=True) + certificate(tmp_path, "a server", authority=False)
    result, installed = run(tmp_path, "amazon-ebs", bundle)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert not installed.exists()


@pytest.mark.parametrize("builder", ["digitalocean", "qemu"])
def test_other_bakes_install_nothing(tmp_path, builder):
    result, installed = run(tmp_path, builder, certificate(tmp_path, "ca", authority=True))
    assert result.returncode == 0 and "needs no RDS bundle" in result.stdout
    assert not installed.exists()
