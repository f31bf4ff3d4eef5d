"""The baked images in the cloud: list them and delete them, on DigitalOcean (snapshots) and AWS (AMIs).

DigitalOcean: the account's private images (`GET /v2/images?private=true`, every page) at
DIGITALOCEAN_API_URL (default https://api.digitalocean.com) with DIGITALOCEAN_TOKEN; a
snapshot is one image in every region it was copied to, deleted with `DELETE /v2/images/{id}`.
AWS: the account's own AMIs (boto3, the usual credentials; AWS_ENDPOINT_URL for a stand-in)
in each region, each deregistered and then its EBS snapshots deleted, so no storage is left billed.
Every failure raises `ImageLookupError` saying what was asked; a caller deciding what to delete stops.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable
from typing import Any, Protocol

from tools.retention import DIGITALOCEAN_SNAPSHOT_PRICE, EBS_SNAPSHOT_PRICE, Image

HTTP_TIMEOUT_SECONDS = 30
MAX_PAGES = 100


class ImageLookupError(Exception):
    """The cloud could not be asked (credentials, network, an API error): nothing may be decided from it."""


class ImageStore(Protocol):
    price_per_gb_month: float

    def images(self, name_prefix: str) -> list[Image]: ...

    def delete(self, image: Image) -> None: ...


class DigitalOceanImages:
    price_per_gb_month = DIGITALOCEAN_SNAPSHOT_PRICE

    def __init__(self, api_url: str | None = None, token: str | None = None):
        self.api_url = (api_url or os.environ.get("DIGITALOCEAN_API_URL") or "https://api.digitalocean.com").rstrip("/")
        self.token = token if token is not None else os.environ.get("DIGITALOCEAN_TOKEN", "")
        if not self.token:
            raise ImageLookupError("DIGITALOCEAN_TOKEN is not set: export a token with image:read (image:delete to --apply)")

    def _call(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.api_url + path, method=method, headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raise ImageLookupError(f"DigitalOcean {method} {path}: {error.code} {_message(error.read())}") from None
        except (OSError, ValueError) as error:
            raise ImageLookupError(f"DigitalOcean {method} {path}: {error}") from None
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise ImageLookupError(f"DigitalOcean {method} {path}: the answer is not JSON") from None

    def images(self, name_prefix: str) -> list[Image]:
        found: list[Image] = []
        for number in range(1, MAX_PAGES + 1):
            answer = self._call("GET", f"/v2/images?private=true&per_page=200&page={number}")
            found += [_droplet_snapshot(image) for image in answer.get("images", []) if str(image.get("name", "")).startswith(name_prefix)]
            if not ((answer.get("links") or {}).get("pages") or {}).get("next"):
                return found
        raise ImageLookupError(f"DigitalOcean lists more than {MAX_PAGES} pages of private images; refusing to decide on part of them")

    def delete(self, image: Image) -> None:
        self._call("DELETE", f"/v2/images/{image.id}")


def _message(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("message", ""))
    except (ValueError, AttributeError):
        return raw.decode(errors="replace")[:200]


def _droplet_snapshot(image: dict[str, Any]) -> Image:
    return Image(id=str(image["id"]), name=image["name"], created_at=image["created_at"], size_gb=float(image.get("size_gigabytes") or 0), region=",".join(image.get("regions") or []))


class AwsImages:
    """The account's own AMIs named with a prefix, in each of ``regions``."""

    price_per_gb_month = EBS_SNAPSHOT_PRICE

    def __init__(self, regions: Iterable[str]):
        import boto3  # only where AWS images are pruned: boto3 takes a second to import

        self.clients = {region: boto3.client("ec2", region_name=region) for region in regions}

    def images(self, name_prefix: str) -> list[Image]:
        import botocore.exceptions

        found = []
        for region, ec2 in self.clients.items():
            try:
                amis = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [f"{name_prefix}*"]}])["Images"]
                snapshot_ids = [m["Ebs"]["SnapshotId"] for ami in amis for m in ami.get("BlockDeviceMappings", []) if "SnapshotId" in m.get("Ebs", {})]
                sizes = {s["SnapshotId"]: s["VolumeSize"] for s in ec2.describe_snapshots(SnapshotIds=snapshot_ids)["Snapshots"]} if snapshot_ids else {}
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
                raise ImageLookupError(f"AWS {region}: listing AMIs failed: {error}") from None
            for ami in amis:
                snapshots = tuple(m["Ebs"]["SnapshotId"] for m in ami.get("BlockDeviceMappings", []) if "SnapshotId" in m.get("Ebs", {}))
                size = float(sum(sizes.get(s, 0) for s in snapshots))
                found.append(Image(id=ami["ImageId"], name=ami["Name"], created_at=ami.get("CreationDate", ""), size_gb=size, region=region, snapshot_ids=snapshots))
        return found

    def delete(self, image: Image) -> None:
        import botocore.exceptions

        ec2 = self.clients[image.region]
        try:
            # The snapshots are in use by the AMI until it is deregistered.
            ec2.deregister_image(ImageId=image.id)
            for snapshot in image.snapshot_ids:
                ec2.delete_snapshot(SnapshotId=snapshot)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise ImageLookupError(f"AWS {image.region}: deleting {image.id} ({image.name}) failed: {error}") from None
