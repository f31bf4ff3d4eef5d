"""Content hashes of image sources and parsing of Packer's machine-readable output."""

from __future__ import annotations

import pytest

from components.image_build import packer_command, packer_value
from components.packer import PackerOutputError, parse_artifact_id, tree_hash
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


def test_tree_hash_changes_with_content_and_names_but_not_location(tmp_path):
    def make(root):
        (root / "images" / "app").mkdir(parents=True)
        (root / "images" / "app" / "a.pkr.hcl").write_text("source {}\n")
        return [root / "images" / "app"]

    first, second = make(tmp_path / "one"), make(tmp_path / "two")
    assert tree_hash(first) == tree_hash(second)
    assert len(tree_hash(first)) == 12
    assert tree_hash(first, extra=["x"]) != tree_hash(first)
    (first[0] / "a.pkr.hcl").write_text("source { }\n")
    assert tree_hash(first) != tree_hash(second)
    (second[0] / "a.pkr.hcl").rename(second[0] / "b.pkr.hcl")
    assert tree_hash(second) != tree_hash(make(tmp_path / "three"))


def test_tree_hash_ignores_build_outputs(tmp_path):
    root = tmp_path / "images"
    root.mkdir()
    (root / "t.pkr.hcl").write_text("x")
    before = tree_hash([root])
    (root / "disk.qcow2").write_text("big")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "m.pyc").write_text("c")
    assert tree_hash([root]) == before


def test_missing_image_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        tree_hash([tmp_path / "nope"])


def test_packer_command_quotes_and_pins_the_build():
    assert packer_command("packer", "digitalocean.app", "images/app") == (
        "packer init images/app && packer build -machine-readable -color=false -only=digitalocean.app images/app"
    )
    assert packer_value(["nyc3", "ams3"]) == '["nyc3", "ams3"]' and packer_value("x") == "x"
