"""`rollback` on a temporary git repository holding a stack file's history, the image check against the DigitalOcean stand-in.

`pulumi up` is a recording executable on PATH: the engine cannot run this program here (no Python language host).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT
from do_stand_in_harness import TOKEN, Client, start_stand_in

from tools.rollback import Pin, repin

PROD = """# Prod: promotes staging's image.
config:
  immutable-web:region: nyc3
  immutable-web:appVersion: "{version}"
  immutable-web:imageMode: promote
  immutable-web:imageStack: staging
  immutable-web:imageSourceHash: "{source_hash}"
"""
PROMOTIONS = [("1.4.0", "aaaaaaaaaaaa"), ("1.4.1", "bbbbbbbbbbbb"), ("1.4.2", "cccccccccccc")]


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@example.com")
    git(repo, "config", "user.name", "t")
    for version, source_hash in PROMOTIONS:
        (repo / "Pulumi.prod.yaml").write_text(PROD.format(version=version, source_hash=source_hash))
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"prod: promote {version}")
    # An edit that is no promotion: the history holds each pair once.
    (repo / "Pulumi.prod.yaml").write_text(PROD.format(version="1.4.2", source_hash="cccccccccccc") + "  immutable-web:fleetCount: 3\n")
    git(repo, "commit", "-q", "-am", "prod: three servers")
    return repo


@pytest.fixture
def cloud(tmp_path, repo):
    stand_in = start_stand_in(tmp_path)
    client = Client(stand_in.url)
    # 1.4.0's image was pruned; 1.4.1's and 1.4.2's are there.
    for name in ("hello-staging-1.4.1-bbbbbbbbbbbb", "hello-staging-1.4.2-cccccccccccc"):
        client.expect(201, "POST", "/_stand_in/images", {"name": name, "regions": ["nyc3"]})
    recorder = tmp_path / "bin"
    recorder.mkdir()
    (recorder / "pulumi").write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {tmp_path / "pulumi-calls"}\n')
    (recorder / "pulumi").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGITALOCEAN_", "PULUMI_"))}
    env |= {"PATH": f"{recorder}{os.pathsep}{env['PATH']}", "DIGITALOCEAN_API_URL": stand_in.url, "DIGITALOCEAN_TOKEN": TOKEN}
    yield env, tmp_path / "pulumi-calls"
    stand_in.stop()


def run(repo, env, *args, stdin=""):
    command = [sys.executable, "-m", "tools.rollback", "--project-dir", str(repo), "--stack", "prod", *args]
    return subprocess.run(command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_rollback_pins_the_previous_promoted_pair_and_runs_pulumi_up(repo, cloud):
    env, calls = cloud
    result = run(repo, env, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    text = (repo / "Pulumi.prod.yaml").read_text()
    assert 'immutable-web:appVersion: "1.4.1"' in text and 'immutable-web:imageSourceHash: "bbbbbbbbbbbb"' in text
    assert "immutable-web:fleetCount: 3" in text and text.startswith("# Prod"), "the rollback lost a line of the stack file"
    assert '-  immutable-web:appVersion: "1.4.2"' in result.stdout and '+  immutable-web:appVersion: "1.4.1"' in result.stdout, result.stdout
    assert calls.read_text() == "up --stack prod --yes\n"


def test_rollback_refuses_an_image_that_is_gone_and_changes_nothing(repo, cloud):
    env, calls = cloud
    before = (repo / "Pulumi.prod.yaml").read_text()
    result = run(repo, env, "--to", "1.4.0", "--yes")
    assert result.returncode == 1 and "hello-staging-1.4.0-aaaaaaaaaaaa" in result.stderr and "no longer there" in result.stderr, result.stderr
    assert (repo / "Pulumi.prod.yaml").read_text() == before
    assert not calls.exists()


def test_rollback_asks_first_and_a_no_changes_nothing(repo, cloud):
    env, calls = cloud
    before = (repo / "Pulumi.prod.yaml").read_text()
    for answer in ("n\n", ""):
        result = run(repo, env, stdin=answer)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "[y/N]" in result.stdout
    assert (repo / "Pulumi.prod.yaml").read_text() == before
    assert not calls.exists()


def test_a_baking_stack_rolls_back_by_promoting_its_own_image():
    staging = 'config:\n  immutable-web:region: nyc3\n  immutable-web:appVersion: "1.4.2"\n  immutable-web:imageMode: bake\n'
    text = repin(staging, Pin("1.4.1", "bbbbbbbbbbbb", "staging"), baking=True)
    assert text == (
        'config:\n  immutable-web:region: nyc3\n  immutable-web:appVersion: "1.4.1"\n  immutable-web:imageStack: "staging"\n'
        '  immutable-web:imageSourceHash: "bbbbbbbbbbbb"\n  immutable-web:imageMode: "promote"\n'
    )
