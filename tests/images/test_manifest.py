"""The image's package manifest and the patch level's apt sources, run by the real tools.

manifest.sh runs under Packer 1.6.6 (its null builder and a shell-local provisioner, on this machine's own
dpkg database), and the line it prints is read back from Packer's machine-readable output by the parser the
Pulumi program uses. snapshot-sources.sh's output is parsed by this machine's apt."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import require_tools

from components.common.packer_output import PackerOutputError, parse_image_manifest

IMAGES = Path(__file__).resolve().parents[2] / "images"
MANIFEST_SCRIPT = IMAGES / "scripts" / "manifest.sh"
SOURCES_SCRIPT = IMAGES / "scripts" / "snapshot-sources.sh"


def packer_runs_manifest(tmp_path: Path, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`packer build -machine-readable` of a null build named null.base whose provisioner runs manifest.sh."""
    template = tmp_path / "manifest.pkr.hcl"
    variables = json.dumps([f"{key}={value}" for key, value in environment.items()])
    template.write_text(
        'source "null" "base" {\n  communicator = "none"\n}\n'
        'build {\n  sources = ["source.null.base"]\n'
        f'  provisioner "shell-local" {{\n    script = "{MANIFEST_SCRIPT}"\n    environment_vars = {variables}\n  }}\n}}\n'
    )
    return subprocess.run(
        ["packer", "build", "-machine-readable", "-color=false", str(template)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
    )


def installed_packages() -> int:
    status = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}\\n"], capture_output=True, text=True, check=True, timeout=60).stdout
    return sum(1 for line in status.splitlines() if line.startswith("ii"))


@require_tools("packer", "dpkg-query")
def test_the_base_records_its_level_and_every_installed_package(tmp_path):
    directory = tmp_path / "immutable-web"
    result = packer_runs_manifest(tmp_path, {"PATCH_LEVEL": "20261207T000000Z", "MANIFEST_DIR": str(directory)})
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = parse_image_manifest(result.stdout, "null.base")
    manifest = (directory / "packages.manifest").read_bytes()
    assert recorded.patch_level == "20261207T000000Z" == (directory / "patch-level").read_text().strip()
    assert recorded.sha256 == hashlib.sha256(manifest).hexdigest()
    lines = manifest.decode().splitlines()
    assert recorded.packages == len(lines) == installed_packages()
    assert lines == sorted(lines) and all(len(line.split("\t")) == 3 for line in lines)
    assert any(line.startswith("dpkg\t") for line in lines), "dpkg itself is installed: the manifest must list it"
    # The same packages, the same manifest: the digest is the image's package set, nothing else.
    again = packer_runs_manifest(tmp_path, {"PATCH_LEVEL": "20261207T000000Z", "MANIFEST_DIR": str(directory)})
    assert parse_image_manifest(again.stdout, "null.base").sha256 == recorded.sha256


@require_tools("packer", "dpkg-query")
def test_the_app_layer_keeps_the_level_its_base_recorded(tmp_path):
    directory = tmp_path / "immutable-web"
    directory.mkdir()
    (directory / "patch-level").write_text("20261130T120000Z\n")
    result = packer_runs_manifest(tmp_path, {"MANIFEST_DIR": str(directory)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert parse_image_manifest(result.stdout, "null.base").patch_level == "20261130T120000Z"


@require_tools("packer", "dpkg-query")
def test_without_any_level_the_bake_fails_and_says_why(tmp_path):
    result = packer_runs_manifest(tmp_path, {"MANIFEST_DIR": str(tmp_path / "empty")})
    assert result.returncode != 0
    assert "manifest.sh: no patch level" in result.stdout + result.stderr
    with pytest.raises(PackerOutputError, match=re.escape("no image-manifest line for build 'null.base'")):
        parse_image_manifest(result.stdout, "null.base")


def test_another_builds_manifest_line_is_not_taken():
    line = "1700000000,,ui,message,    digitalocean.base: image-manifest: patch-level=20261207T000000Z sha256=" + "a" * 64 + " packages=3"
    assert parse_image_manifest(line, "digitalocean.base").packages == 3
    with pytest.raises(PackerOutputError):
        parse_image_manifest(line, "digitalocean.app")


@require_tools("apt-get")
def test_apt_reads_the_snapshot_sources_of_the_level(tmp_path):
    parts = tmp_path / "sources"
    parts.mkdir()
    text = subprocess.run(["sh", str(SOURCES_SCRIPT), "20261207T000000Z", "trixie"], capture_output=True, text=True, check=True, timeout=30).stdout
    (parts / "snapshot.sources").write_text(text)
    for folder in ("lists/partial", "cache/archives/partial"):
        (tmp_path / folder).mkdir(parents=True)
    options = ["-oDir::Etc::SourceList=/dev/null", f"-oDir::Etc::SourceParts={parts}", f"-oDir::State::Lists={tmp_path / 'lists'}", f"-oDir::Cache={tmp_path / 'cache'}"]
    uris = subprocess.run(["apt-get", *options, "update", "--print-uris"], capture_output=True, text=True, timeout=60)
    assert uris.returncode == 0, uris.stderr
    fetched = {line.split("'")[1] for line in uris.stdout.splitlines() if line.startswith("'")}
    assert {
        "https://snapshot.debian.org/archive/debian/20261207T000000Z/dists/trixie/InRelease",
        "https://snapshot.debian.org/archive/debian/20261207T000000Z/dists/trixie-updates/InRelease",
        "https://snapshot.debian.org/archive/debian-security/20261207T000000Z/dists/trixie-security/InRelease",
    } <= fetched
    assert all("/20261207T000000Z/" in uri for uri in fetched), "every index comes from the snapshot"


@pytest.mark.parametrize("level", ["2026-12-07", "20261207T000000Z;rm", ""])
def test_the_sources_script_refuses_what_is_not_a_level(level):
    result = subprocess.run(["sh", str(SOURCES_SCRIPT), level, "trixie"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and result.stdout == ""
    assert "PATCH_LEVEL" in result.stderr or "timestamp YYYYMMDDTHHMMSSZ" in result.stderr
