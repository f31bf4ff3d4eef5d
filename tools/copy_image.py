#!/usr/bin/env python3
"""Make a DigitalOcean snapshot available in every region it is wanted in.

Run by the `ImageBuild` component (a pulumi-command `local.Command` keyed on the
image id and the region list) during `pulumi up`:

    DIGITALOCEAN_TOKEN=... python3 tools/copy_image.py --image 123456789 --regions nyc3,ams3,fra1

It reads the snapshot's regions and starts DigitalOcean's image "transfer" action
for each wanted region it is not in yet, then waits for every transfer to finish.
Idempotent: a region that already holds the snapshot is left alone, so after a
bake that copied everywhere it does nothing. Regions are never removed.

Why a step of its own: a new copy region must not re-run Packer (a re-bake under
the same snapshot name would be an image staging never tested, that prod would
then find by name). See images/README.md.

Standard library only. Progress goes to stderr; stdout is one JSON summary line.
Exit 1 when a transfer fails or times out; exit 2 without DIGITALOCEAN_TOKEN or on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence

API = "https://api.digitalocean.com/v2"
REQUEST_TIMEOUT_SECONDS = 30
POLL_SECONDS = 15


class TransferError(RuntimeError):
    """A transfer action errored, or did not finish in time."""


def missing_regions(present: Sequence[str], wanted: Sequence[str]) -> list[str]:
    """The wanted regions the snapshot is not in yet, in the order wanted, without repeats."""
    return [region for index, region in enumerate(wanted) if region not in present and region not in wanted[:index]]


def api(token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        API + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raise TransferError(f"{method} {path}: HTTP {error.code}: {error.read().decode(errors='replace')[:500]}") from error


def copy_image(token: str, image_id: str, wanted: Sequence[str], timeout: float) -> dict:
    present = api(token, "GET", f"/images/{image_id}")["image"]["regions"]
    to_copy = missing_regions(present, wanted)
    actions = {}
    for region in to_copy:
        print(f"copy_image: transferring image {image_id} to {region}", file=sys.stderr, flush=True)
        actions[region] = api(token, "POST", f"/images/{image_id}/actions", {"type": "transfer", "region": region})["action"]["id"]
    deadline = time.monotonic() + timeout
    while actions:
        for region, action_id in list(actions.items()):
            status = api(token, "GET", f"/images/{image_id}/actions/{action_id}")["action"]["status"]
            if status == "completed":
                del actions[region]
            elif status == "errored":
                raise TransferError(f"transfer of image {image_id} to {region} errored (action {action_id})")
        if actions:
            if time.monotonic() > deadline:
                raise TransferError(f"transfers of image {image_id} to {', '.join(actions)} not finished after {timeout:.0f} s")
            time.sleep(POLL_SECONDS)
    return {"image_id": image_id, "regions": sorted({*present, *wanted}), "copied": to_copy}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True, help="snapshot id")
    parser.add_argument("--regions", required=True, help="comma-separated region slugs the snapshot must be in")
    parser.add_argument("--timeout", type=float, default=3000, help="seconds to wait for every transfer")
    args = parser.parse_args(argv)
    token = os.environ.get("DIGITALOCEAN_TOKEN", "")
    if not token:
        print("copy_image: DIGITALOCEAN_TOKEN is not set; it needs the API token the Pulumi provider and Packer use", file=sys.stderr)
        return 2
    wanted = [region for region in args.regions.split(",") if region]
    try:
        summary = copy_image(token, args.image, wanted, args.timeout)
    except (TransferError, urllib.error.URLError, TimeoutError) as error:
        print(f"copy_image: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
