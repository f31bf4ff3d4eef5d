"""The Packer templates and provisioning scripts, checked by the tools of the field.

`packer validate` runs here with Debian's Packer 1.6.6, which predates
`required_plugins`: it validates a copy of each template without its
plugins.pkr.hcl (its builders are built in), and the pins in plugins.pkr.hcl
are checked separately, parsed with python-hcl2. The sources, shared variables
and pins are images/common's, linked into each layer's folder; the copy holds
the linked files' contents. See images/README.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import hcl2
import pytest
import yaml
from conftest import require_tools

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "images" / "local"))
import bake as local_bake

from deployments.aws import AWS_BASE_IMAGE

IMAGES = Path(__file__).resolve().parents[2] / "images"
# The Debian cloud team's AWS account, which publishes Debian's official AMIs.
DEBIAN_CLOUD_ACCOUNT = "136693071363"
LAYERS = ["base", "app"]
# What both layers share: images/common/<name>, linked from each layer's folder as <name>.
SHARED = ["sources.pkr.hcl", "variables.pkr.hcl", "plugins.pkr.hcl"]
SCRIPTS = sorted((IMAGES / "scripts").glob("*.sh")) + sorted((IMAGES / "local").glob("*.sh"))
PACKER = shutil.which("packer")
needs_packer = require_tools("packer")

# Exactly the variables the Pulumi program passes (components/image_build.py, __main__.py).
VALID_VARIABLES = {
    "base": {
        "image_name": "hello-staging-base-20261207T000000Z-0123456789ab",
        "source_image": "debian-13-x64",
        "patch_level": "20261207T000000Z",
        "region": "nyc3",
        "snapshot_regions": '["nyc3","ams3"]',
        "size": "s-1vcpu-1gb",
    },
    "app": {
        "image_name": "hello-1.4.2-0123456789ab",
        "base_image": "123456",
        "app_name": "hello",
        "app_version": "1.4.2",
        "source_hash": "0123456789ab",
        "region": "nyc3",
        "snapshot_regions": '["nyc3","ams3"]',
        "size": "s-1vcpu-1gb",
    },
}


def unquote(value):
    """python-hcl2 keeps HCL string quotes and marks blocks; drop both."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


def parse(path: Path) -> dict:
    return unquote(hcl2.loads(path.read_text()))


def template_copy(tmp_path: Path, layer: str) -> Path:
    # copytree follows the links: each layer's copy holds images/common's files themselves.
    for folder in ("base", "app", "scripts", "webapp"):
        shutil.copytree(IMAGES / folder, tmp_path / folder, ignore=shutil.ignore_patterns("plugins.pkr.hcl", "__pycache__"))
    return tmp_path / layer


def packer(*args: str, token: str | None = "validate-only") -> subprocess.CompletedProcess:
    """Run Packer with only DIGITALOCEAN_TOKEN set (a dummy: validating needs no real token)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DIGITALOCEAN_TOKEN", "DIGITALOCEAN_API_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN")}
    env["CHECKPOINT_DISABLE"] = "1"
    if token is not None:
        env["DIGITALOCEAN_TOKEN"] = token
    return subprocess.run([PACKER, *args], capture_output=True, text=True, timeout=300, env=env)


def var_arguments(variables: dict[str, str]) -> list[str]:
    return [argument for name, value in variables.items() for argument in ("-var", f"{name}={value}")]


@needs_packer
@pytest.mark.parametrize("folder", ["common", *LAYERS])
def test_templates_are_formatted(folder):
    result = packer("fmt", "-check", str(IMAGES / folder))
    assert result.returncode == 0, f"packer fmt would change: {result.stdout}"


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_link_the_shared_files_instead_of_copying_them(layer):
    for name in SHARED:
        link = IMAGES / layer / name
        assert link.is_symlink() and link.readlink() == Path("..", "common", name), f"images/{layer}/{name} must be a link to ../common/{name}"
    own = sorted(p.name for p in (IMAGES / layer).glob("*.pkr.hcl") if not p.is_symlink())
    assert own == [f"{layer}.pkr.hcl"], f"images/{layer}: the layer's own variables and build are in {layer}.pkr.hcl"


@needs_packer
@pytest.mark.parametrize("layer", LAYERS)
def test_templates_validate_for_every_source(layer, tmp_path):
    result = packer("validate", *var_arguments(VALID_VARIABLES[layer]), str(template_copy(tmp_path, layer)))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_packer
@pytest.mark.parametrize("layer", LAYERS)
def test_the_programs_digitalocean_build_validates(layer, tmp_path):
    """`-only=digitalocean.<layer>` with the variables the Pulumi program passes."""
    result = packer("validate", f"-only=digitalocean.{layer}", *var_arguments(VALID_VARIABLES[layer]), str(template_copy(tmp_path, layer)))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_packer
@pytest.mark.parametrize("layer", LAYERS)
def test_the_digitalocean_source_takes_its_token_from_DIGITALOCEAN_TOKEN(layer, tmp_path):  # noqa: N802 - the variable's name
    result = packer("validate", f"-only=digitalocean.{layer}", *var_arguments(VALID_VARIABLES[layer]), str(template_copy(tmp_path, layer)), token=None)
    assert result.returncode != 0 and "api_token" in result.stdout + result.stderr, result.stdout + result.stderr


@needs_packer
@pytest.mark.parametrize("layer", LAYERS)
def test_the_local_qemu_build_needs_no_cloud_token(layer, tmp_path):
    result = packer("validate", f"-only=qemu.{layer}", *var_arguments(VALID_VARIABLES[layer]), str(template_copy(tmp_path, layer)), token=None)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_packer
@pytest.mark.parametrize(
    ("layer", "name", "value"),
    [
        ("base", "region", "mars1"),
        ("base", "qemu_accelerator", "xen"),
        ("base", "patch_level", "2026-12-07"),
        ("base", "patch_level", "20261207T00000aZ"),
        ("base", "patch_level", "20261207T000000Z;"),
        ("app", "source_hash", "short"),
        ("app", "app_version", "1.4"),
        ("app", "app_version", '1.4.2"\nEVIL=1'),
        ("app", "app_version", "1.4.2$(id)"),
        ("app", "app_name", "hello world"),
    ],
)
def test_variable_validation_refuses_bad_values(layer, name, value, tmp_path):
    variables = {**VALID_VARIABLES[layer], name: value}
    result = packer("validate", *var_arguments(variables), str(template_copy(tmp_path, layer)))
    assert result.returncode != 0 and "validation rule" in result.stdout + result.stderr, name


def test_plugins_are_pinned_for_real_packer():
    document = parse(IMAGES / "common" / "plugins.pkr.hcl")
    (packer_block,) = document["packer"]
    assert packer_block["required_version"].startswith(">=")
    plugins = {}
    for block in packer_block["required_plugins"]:
        plugins.update(block)
    assert set(plugins) == {"digitalocean", "amazon", "qemu"}
    for name, plugin in plugins.items():
        assert plugin["source"].startswith("github.com/"), name
        assert plugin["version"].startswith("~>"), f"{name} must be pinned to a minor series"


def test_the_base_starts_from_debian_13_on_every_cloud_and_only_from_debians_own_amis():
    """DigitalOcean's Debian 13 slug; on AWS the newest Debian 13 AMI of the Debian cloud team's account only (an
    owner filter: an AMI anyone else publishes under the same name is never taken); the program's defaults and the
    local bake's stand-in name the same images, so the base's content hash records what Packer starts from."""
    template = parse(IMAGES / "base" / "base.pkr.hcl")
    defaults = {name: variable.get("default") for block in template["variable"] for name, variable in block.items()}
    (build,) = template["build"]
    used = {reference: settings for block in build["source"] for reference, settings in block.items()}
    assert used["source.digitalocean.image"]["image"] == "${var.source_image}"
    assert defaults["source_image"] == "debian-13-x64"
    (ami_filter,) = used["source.amazon-ebs.image"]["source_ami_filter"]
    assert ami_filter["owners"] == ["${var.aws_source_ami_owner}"] and defaults["aws_source_ami_owner"] == DEBIAN_CLOUD_ACCOUNT
    assert ami_filter["filters"]["name"] == "debian-13-amd64-*" and ami_filter["most_recent"] is True
    filtered = f"amazon-ebs:{DEBIAN_CLOUD_ACCOUNT}/{ami_filter['filters']['name']}"
    assert filtered == AWS_BASE_IMAGE, "the base's content hash must record the AMI filter Packer uses"
    declared = yaml.safe_load((IMAGES.parent / "Pulumi.yaml").read_text())["config"]["baseImage"]["default"]
    assert declared == defaults["source_image"] == local_bake.BASE_SOURCE_IMAGE


@pytest.mark.parametrize("layer", LAYERS)
def test_every_variable_is_typed_and_described(layer):
    names = []
    for template in sorted((IMAGES / layer).glob("*.pkr.hcl")):
        for block in parse(template).get("variable", []):
            for name, variable in block.items():
                names.append(name)
                assert variable.get("type"), f"{layer}: variable {name} has no type"
                assert len(variable.get("description", "")) > 10, f"{layer}: variable {name} has no description"
    assert len(names) == len(set(names)), f"{layer}: a variable declared twice"


@pytest.mark.parametrize("layer", LAYERS)
def test_every_source_runs_the_same_provisioners(layer):
    """The layer's build uses every shared source, renamed after the layer (`-only=qemu.<layer>`), with one set of provisioners."""
    shared = parse(IMAGES / "common" / "sources.pkr.hcl")
    sources = {f"source.{kind}.{name}" for block in shared["source"] for kind, named in block.items() for name in named}
    assert {s.split(".")[1] for s in sources} == {"digitalocean", "amazon-ebs", "qemu"}
    (build,) = parse(IMAGES / layer / f"{layer}.pkr.hcl")["build"]
    used = {reference: settings for block in build["source"] for reference, settings in block.items()}
    assert set(used) == sources and "sources" not in build, f"{layer}: every shared source, each once"
    assert all(settings["name"] == layer for settings in used.values()), f"{layer}: each source is named after the layer"
    assert "only" not in str(build.get("provisioner", "")), "a provisioner limited to one source would make local tests unlike what ships"
    (post,) = build["post-processor"]
    assert "manifest" in post


@require_tools("shellcheck")
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.name for s in SCRIPTS])
def test_scripts_pass_shellcheck(script):
    assert script.read_text().startswith("#!/bin/sh\nset -eu") or "\nset -eu\n" in script.read_text(), f"{script.name} must set -eu"
    result = subprocess.run(["shellcheck", "--severity=style", str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout


@require_tools("shellcheck")
def test_shellcheck_catches_a_bad_script(tmp_path):
    """The check above can fail."""
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nset -eu\nrm -rf $1/tmp\n")
    assert subprocess.run(["shellcheck", str(bad)], capture_output=True, timeout=120).returncode != 0
