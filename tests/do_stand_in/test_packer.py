"""A real client: Packer 1.6.6's `digitalocean` builder bakes against the stand-in.

With `communicator = "none"` no SSH is needed: Packer makes its temporary SSH key, creates
the droplet, waits for it to be active, shuts it down (a power-off only if it is not off by then:
it is), snapshots it, copies the snapshot to
`snapshot_regions`, and deletes the droplet and the key. The test holds the request log to
that order, checks the snapshot exists afterwards (in both regions), and checks every
exchange against DigitalOcean's OpenAPI description.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import require_tools
from do_stand_in_harness import Client, RecordingStandIn, invalid_exchanges

pytestmark = require_tools("packer")

IMAGE_NAME = "hello-1.4.2-0123456789ab"
PACKER_TIMEOUT_SECONDS = 180

TEMPLATE = """
source "digitalocean" "image" {{
  api_token        = "packer-test-token"
  api_url          = "{url}"
  region           = "nyc3"
  size             = "s-1vcpu-1gb"
  image            = "debian-12-x64"
  snapshot_name    = "{image_name}"
  snapshot_regions = ["nyc3", "sfo3"]
  communicator     = "none"
  state_timeout    = "2m"
}}

build {{
  sources = ["source.digitalocean.image"]
}}
"""

# What Packer asks for, in order (each may be repeated while it polls): the builder's steps.
EXPECTED_STEPS = [
    ("GET", "/v2/regions"),  # snapshot_regions are checked against the regions DigitalOcean has
    ("POST", "/v2/account/keys"),
    ("POST", "/v2/droplets"),
    ("GET", "/v2/droplets/{droplet_id}"),
    ("POST", "/v2/droplets/{droplet_id}/actions", "shutdown"),
    ("POST", "/v2/droplets/{droplet_id}/actions", "snapshot"),
    ("GET", "/v2/droplets/{droplet_id}/actions/{action_id}"),
    ("GET", "/v2/droplets/{droplet_id}/snapshots"),
    ("POST", "/v2/images/{image_id}/actions", "transfer"),
    ("GET", "/v2/images/{image_id}/actions/{action_id}"),
    ("DELETE", "/v2/droplets/{droplet_id}"),
    ("DELETE", "/v2/account/keys/{ssh_key_identifier}"),
]


def run_packer(stand_in: RecordingStandIn, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    template = tmp_path / "image.pkr.hcl"
    template.write_text(TEMPLATE.format(url=stand_in.url, image_name=IMAGE_NAME))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "CHECKPOINT_DISABLE": "1", "PACKER_CACHE_DIR": str(tmp_path / "cache")}
    return subprocess.run(["packer", "build", "-color=false", str(template)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=PACKER_TIMEOUT_SECONDS)


def step(entry: dict) -> tuple[str, ...]:
    kind = (entry.get("request") or {}).get("type")
    return (entry["method"], entry.get("route", entry["path"]), *([kind] if kind and entry["path"].endswith("/actions") else []))


def test_packer_bakes_a_snapshot_against_the_stand_in_in_the_builders_order(stand_in: RecordingStandIn, tmp_path: Path, openapi_check) -> None:
    result = run_packer(stand_in, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    entries = stand_in.log_entries()
    steps = [step(entry) for entry in entries if entry["status"] < 400]
    positions = []
    for expected in EXPECTED_STEPS:
        assert expected in steps, f"Packer never asked {expected}: {steps}"
        positions.append(steps.index(expected))
    assert positions == sorted(positions), f"out of order: {list(zip(EXPECTED_STEPS, positions, strict=True))}"
    assert not [entry for entry in entries if entry.get("unimplemented")]
    # Nothing after the droplet's delete touches it again but the key's delete.
    assert steps[-2:] == EXPECTED_STEPS[-2:]

    client = Client(stand_in.url)
    images = client.expect(200, "GET", "/v2/images?private=true")["images"]
    assert [(image["name"], image["regions"]) for image in images] == [(IMAGE_NAME, ["nyc3", "sfo3"])]
    assert client.expect(200, "GET", "/v2/droplets")["droplets"] == []
    assert client.expect(200, "GET", "/v2/account/keys")["ssh_keys"] == []
    assert f"A snapshot was created: '{IMAGE_NAME}'" in result.stdout
    assert invalid_exchanges(openapi_check, stand_in.exchanges) == []
