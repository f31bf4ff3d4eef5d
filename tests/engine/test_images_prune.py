"""`images prune` against the DigitalOcean API stand-in, with stack states the real Pulumi CLI made and reads.

The stand-in holds staging's snapshots, base and app, and one snapshot nobody baked by the
naming scheme. Prod's state (imported with `pulumi stack import`) still runs an old staging
image, on its droplets: that image is older than every kept one and only prod uses it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import ROOT
from do_stand_in_harness import TOKEN, Client, start_stand_in
from pulumi_state import child, import_state, stack_resource

DROPLET = "digitalocean:index/droplet:Droplet"
IMAGE_BUILD = "immutable-web:image:ImageBuild"
PROD_ONLY = "hello-staging-1.3.9-0123456789ab"
# Oldest first: the stand-in stamps creation times in this order.
STAGING_IMAGES = [
    PROD_ONLY,
    "hello-staging-base-aaaaaaaaaaaa",
    "hello-staging-1.4.0-bbbbbbbbbbbb",
    "hello-staging-1.4.1-cccccccccccc",
    "hello-staging-base-dddddddddddd",
    "hello-staging-1.4.2-3f5ca7d2224a",  # prod's stack file pins it
    "hello-staging-1.4.3-eeeeeeeeeeee",
    "hello-staging-1.4.4-ffffffffffff",  # staging runs it
]
OTHERS = ["hello-staging-notes", "other-app-staging-1.0.0-aaaaaaaaaaaa"]


@pytest.fixture
def cloud(tmp_path, workspace):
    stand_in = start_stand_in(tmp_path)
    client = Client(stand_in.url)
    ids = {name: str(client.expect(201, "POST", "/_stand_in/images", {"name": name, "regions": ["nyc3"]})["image"]["id"]) for name in STAGING_IMAGES + OTHERS}
    for stack in ("staging", "prod"):
        workspace.init(stack)
    current, base = "hello-staging-1.4.4-ffffffffffff", "hello-staging-base-dddddddddddd"
    import_state(
        workspace,
        "staging",
        [
            stack_resource("staging", {"imageName": current, "imageId": ids[current], "appVersion": "1.4.4"}),
            child("staging", IMAGE_BUILD, "base-image", custom=False, outputs={"image_id": ids[base], "image_name": base}),
            child("staging", DROPLET, "fleet-0", custom=True, resource_id="300000001", inputs={"image": ids[current]}, outputs={"image": ids[current]}),
        ],
    )
    import_state(
        workspace,
        "prod",
        [
            stack_resource("prod", {"imageName": PROD_ONLY, "imageId": ids[PROD_ONLY]}),
            child("prod", DROPLET, "fleet-0", custom=True, resource_id="300000002", inputs={"image": ids[PROD_ONLY]}, outputs={"image": ids[PROD_ONLY]}),
        ],
    )
    yield client, ids
    stand_in.stop()


def prune(workspace, client, *args: str) -> subprocess.CompletedProcess[str]:
    env = workspace.env | {"DIGITALOCEAN_API_URL": client.url, "DIGITALOCEAN_TOKEN": TOKEN}
    command = [sys.executable, "-m", "tools.images", "prune", "--project-dir", str(workspace.path), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def names_left(client) -> set[str]:
    return {image["name"] for image in client.expect(200, "GET", "/v2/images?private=true&per_page=200")["images"]}


def test_prune_keeps_the_newest_and_every_image_a_state_uses_and_deletes_the_rest(workspace, cloud):
    client, _ = cloud
    dry = prune(workspace, client, "--stack", "staging", "--keep", "2")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert names_left(client) == set(STAGING_IMAGES + OTHERS), "a dry run deleted an image"
    # 2.36 GB each (the stand-in's snapshot size), $0.06 a GiB-month.
    assert "2 of 8 image(s) to delete: 4.72 GB, $0.28 a month" in dry.stdout, dry.stdout
    assert f"keep   {PROD_ONLY} " in dry.stdout and "used by stack prod" in dry.stdout, dry.stdout

    applied = prune(workspace, client, "--stack", "staging", "--keep", "1", "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "4 of 8 image(s) to delete: 9.44 GB, $0.57 a month" in applied.stdout, applied.stdout
    # 1.4.4 is the newest and staging's; 1.4.2 prod's pin; base dddd staging's base; 1.3.9 prod's running image.
    deleted = {"hello-staging-base-aaaaaaaaaaaa", "hello-staging-1.4.0-bbbbbbbbbbbb", "hello-staging-1.4.1-cccccccccccc", "hello-staging-1.4.3-eeeeeeeeeeee"}
    assert names_left(client) == set(STAGING_IMAGES + OTHERS) - deleted
    assert PROD_ONLY in names_left(client), "the image only prod's state uses was deleted"


def test_prune_refuses_and_deletes_nothing_when_a_stack_state_is_unreadable(workspace, cloud):
    client, _ = cloud
    state_file = workspace.path / ".state" / ".pulumi" / "stacks" / "immutable-web" / "prod.json"
    state_file.write_text("{ not a state")
    result = prune(workspace, client, "--stack", "staging", "--keep", "1", "--apply")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "refused for stack staging, nothing deleted" in result.stderr and "prod" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert names_left(client) == set(STAGING_IMAGES + OTHERS)


def test_prune_refuses_when_the_image_lookup_fails(workspace, cloud):
    client, _ = cloud
    env_token = {"DIGITALOCEAN_TOKEN": ""}
    result = subprocess.run(
        [sys.executable, "-m", "tools.images", "prune", "--project-dir", str(workspace.path), "--stack", "staging", "--apply"],
        cwd=ROOT,
        env=workspace.env | {"DIGITALOCEAN_API_URL": client.url} | env_token,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and "DIGITALOCEAN_TOKEN is not set" in result.stderr, result.stderr
    assert names_left(client) == set(STAGING_IMAGES + OTHERS)
