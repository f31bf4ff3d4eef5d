"""What every resource module shares: the store, the backend, and the links between resources (tags, pools, VPCs)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from do_stand_in.backends.base import Backend
from do_stand_in.catalogue import REGIONS
from do_stand_in.errors import unprocessable
from do_stand_in.store import Store, now_iso

TAG_PATTERN = re.compile(r"^[a-zA-Z0-9_:\-]{1,255}$")


def ensure_tag(store: Store, name: str) -> dict[str, Any]:
    """The tag, made on first use (DigitalOcean makes a tag a resource is created with)."""
    if not isinstance(name, str) or not TAG_PATTERN.match(name):
        raise unprocessable(f"Tag name {name!r} is invalid: letters, digits, colons, dashes and underscores, at most 255.")
    return store.collection("tags").setdefault(name, {"name": name})


DEFAULT_VPC_RANGES = {slug: f"10.{100 + number}.0.0/20" for number, slug in enumerate(sorted(REGIONS))}


@dataclass
class Context:
    store: Store
    backend: Backend

    def region_slug(self, value: Any) -> str:
        if value not in REGIONS:
            raise unprocessable(f"You specified an invalid region for Droplet creation ({value!r}).")
        return str(value)

    def vpc_for(self, region: str, vpc_uuid: str | None) -> str:
        """The VPC a new resource joins: the one named (in its region), else the region's default (made on first use, as DigitalOcean has one)."""
        if vpc_uuid:
            vpc = self.store.collection("vpcs").get(vpc_uuid)
            if vpc is None or vpc["region"] != region:
                raise unprocessable(f"vpc_uuid {vpc_uuid} is not a VPC in {region}.")
            return vpc_uuid
        for vpc in self.store.values("vpcs"):
            if vpc["region"] == region and vpc["default"]:
                return vpc["id"]
        key = self.store.new_uuid()
        self.store.put(
            "vpcs",
            key,
            {"id": key, "urn": f"do:vpc:{key}", "name": f"default-{region}", "description": "", "region": region, "ip_range": DEFAULT_VPC_RANGES[region], "default": True, "created_at": now_iso()},
        )
        return key

    def ensure_tags(self, names: list[str]) -> None:
        for name in names:
            ensure_tag(self.store, name)

    def pools_changed(self) -> None:
        """Each load balancer's pool is the droplets carrying its tag (or listed): tell the backend after any change of droplets or tags."""
        droplets = self.store.values("droplets")
        for balancer in self.store.values("load_balancers"):
            if balancer.get("tag"):
                pool = [droplet for droplet in droplets if balancer["tag"] in droplet["tags"]]
                balancer["droplet_ids"] = [droplet["id"] for droplet in pool]
            else:
                present = {droplet["id"] for droplet in droplets}
                balancer["droplet_ids"] = [key for key in balancer["droplet_ids"] if key in present]
                pool = [droplet for droplet in droplets if droplet["id"] in balancer["droplet_ids"]]
            if balancer["status"] == "active":
                self.backend.load_balancer_changed(balancer, pool)
