"""Parsing of Packer's machine-readable output, on a real transcript (tests/data/packer/README.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.common.packer_output import PackerOutputError, parse_artifact_id
from components.image_build import packer_command, packer_value

TRANSCRIPT = (Path(__file__).resolve().parents[2] / "data" / "packer" / "null-build.machine-readable.txt").read_text()


def machine_escaped(value: str) -> str:
    # As Packer's machine-readable UI writes a field (the real transcript shows `,` and `\n` so escaped).
    return value.replace(",", "%!(PACKER_COMMA)").replace("\r", "\\r").replace("\n", "\\n")


def transcript_of(build: str, builder_id: str, artifact_id: str, artifact_string: str) -> str:
    """The real null-builder transcript, as it reads when ``build`` made an artifact with this id and string."""
    lines = []
    for line in TRANSCRIPT.replace("null.app", build).splitlines():
        fields = line.split(",", 5)
        if len(fields) == 6 and fields[2] == "artifact":
            value = {"builder-id": builder_id, "id": machine_escaped(artifact_id), "string": machine_escaped(artifact_string)}.get(fields[4], fields[5])
            line = ",".join([*fields[:5], value])
        lines.append(line)
    return "\n".join(lines)


def test_artifact_id_is_read_from_a_real_transcript():
    assert parse_artifact_id(TRANSCRIPT, "null.app") == "Null"


# digitalocean/packer-plugin-digitalocean, builder/digitalocean/artifact.go:
#   func (a *Artifact) Id() string {
#       return fmt.Sprintf("%s:%s", strings.Join(a.RegionNames[:], ","), strconv.FormatUint(uint64(a.SnapshotId), 10))
#   }
#   func (a *Artifact) String() string {
#       return fmt.Sprintf("A snapshot was created: '%v' (ID: %v) in regions '%v'", a.SnapshotName, a.SnapshotId, strings.Join(a.RegionNames[:], ","))
#   }
# (its artifact_test.go: regions {"sfo", "tor1"}, id 42 -> "sfo,tor1:42")
DIGITALOCEAN = ("digitalocean.app", "pearkes.digitalocean", "nyc3,ams3,fra1:123456789", "A snapshot was created: 'hello-1.4.2-abc' (ID: 123456789) in regions 'nyc3,ams3,fra1'")


def test_digitalocean_artifact_in_several_regions_gives_the_snapshot_id():
    assert parse_artifact_id(transcript_of(*DIGITALOCEAN), "digitalocean.app") == "123456789"
    single = transcript_of("digitalocean.app", "pearkes.digitalocean", "nyc3:987654321", "A snapshot was created")
    assert parse_artifact_id(single, "digitalocean.app") == "987654321"


# hashicorp/packer-plugin-amazon, builder/common/artifact.go:
#   func (a *Artifact) Id() string {
#       parts := make([]string, 0, len(a.Amis))
#       for region, amiId := range a.Amis {
#           parts = append(parts, fmt.Sprintf("%s:%s", region, amiId))
#       }
#       sort.Strings(parts)
#       return strings.Join(parts, ",")
#   }
# String() is "AMIs were created:\n" + one "region: ami" line per region, sorted.
# Built in us-east-1 and copied to eu-west-1: sorting puts the copy first.
AMAZON = ("amazon-ebs.app", "mitchellh.amazonebs", "eu-west-1:ami-0def,us-east-1:ami-0abc", "AMIs were created:\neu-west-1: ami-0def\nus-east-1: ami-0abc\n")


def test_amazon_artifact_gives_the_build_regions_ami_not_the_first_listed():
    output = transcript_of(*AMAZON)
    assert parse_artifact_id(output, "amazon-ebs.app", region="us-east-1") == "ami-0abc"
    assert parse_artifact_id(output, "amazon-ebs.app", region="eu-west-1") == "ami-0def"


def test_amazon_artifact_needs_the_build_region_and_an_ami_there():
    output = transcript_of(*AMAZON)
    with pytest.raises(ValueError, match="build region"):
        parse_artifact_id(output, "amazon-ebs.app")
    with pytest.raises(PackerOutputError, match="ap-south-1"):
        parse_artifact_id(output, "amazon-ebs.app", region="ap-south-1")


def test_artifact_of_another_build_is_not_taken():
    with pytest.raises(PackerOutputError, match=re.escape("digitalocean.app")):
        parse_artifact_id(transcript_of(*DIGITALOCEAN).replace("digitalocean.app", "digitalocean.base"), "digitalocean.app")


def test_failed_build_output_raises():
    with pytest.raises(PackerOutputError):
        parse_artifact_id("1700000000,,ui,error,Build 'digitalocean.app' errored", "digitalocean.app")


def test_packer_command_quotes_and_pins_the_build():
    assert packer_command("packer", "digitalocean.app", "images/app") == (
        "packer init images/app && packer build -machine-readable -color=false -only=digitalocean.app images/app | tee /dev/stderr | grep -F -e ,artifact, -e ': image-manifest: '"
    )
    assert packer_value(["nyc3", "ams3"]) == '["nyc3", "ams3"]' and packer_value("x") == "x"
