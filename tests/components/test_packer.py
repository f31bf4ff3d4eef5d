"""Parsing of Packer's machine-readable output."""

from __future__ import annotations

import pytest

from components.image_build import packer_command, packer_value
from components.packer import PackerOutputError, parse_artifact_id
from offline.harness import packer_machine_readable


def test_artifact_id_is_read_from_the_digitalocean_artifact_line():
    output = packer_machine_readable("digitalocean.app", "nyc3", "123456789", "hello-1.4.2-abc")
    assert parse_artifact_id(output, "digitalocean.app") == "123456789"


def test_artifact_of_another_build_is_not_taken():
    output = packer_machine_readable("digitalocean.base", "nyc3", "111", "base")
    with pytest.raises(PackerOutputError, match="digitalocean.app"):
        parse_artifact_id(output, "digitalocean.app")


def test_amazon_artifact_with_several_regions_gives_the_build_regions_ami():
    line = "1700000000,amazon-ebs.app,artifact,0,id,us-east-1:ami-0abc%!(PACKER_COMMA)eu-west-1:ami-0def"
    assert parse_artifact_id(line, "amazon-ebs.app") == "ami-0abc"


def test_failed_build_output_raises():
    with pytest.raises(PackerOutputError):
        parse_artifact_id("1700000000,,ui,error,Build 'digitalocean.app' errored", "digitalocean.app")


def test_packer_command_quotes_and_pins_the_build():
    assert packer_command("packer", "digitalocean.app", "images/app") == (
        "packer init images/app && packer build -machine-readable -color=false -only=digitalocean.app images/app"
    )
    assert packer_value(["nyc3", "ams3"]) == '["nyc3", "ams3"]' and packer_value("x") == "x"
