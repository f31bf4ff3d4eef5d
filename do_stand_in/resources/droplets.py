"""Droplets: create (one or many), get, list (by tag), delete (one, or by tag), neighbours of nothing.

A droplet is ``new`` until its boot delay has passed and the backend has it running, then
``active``, with its addresses. Deleting an ``active`` droplet is allowed (as on DigitalOcean:
the API does not ask for a power-off first); it is gone at once, its snapshots stay.
"""

from __future__ import annotations

import re
from typing import Any

from do_stand_in import catalogue
from do_stand_in.context import Context
from do_stand_in.errors import unprocessable
from do_stand_in.paging import page
from do_stand_in.resources.actions import new_action
from do_stand_in.resources.images import image_view, resolve_image
from do_stand_in.router import Answer, Request, Route
from do_stand_in.store import Store, now_iso

FIRST_DROPLET_ID = 300000001
NAME_PATTERN = r"^[a-zA-Z0-9.-]{1,255}$"


def routes(context: Context) -> list[Route]:
    store = context.store
    store.on("droplets.boot", lambda store, key: _boot(context, key))

    def create(request: Request) -> Answer:
        body = request.json_object()
        names = body.get("names") if "names" in body else [request.required("name")]
        if not isinstance(names, list) or not names or len(names) > 10 or not all(isinstance(name, str) for name in names):
            raise unprocessable("names must be a list of 1 to 10 names.")
        for name in names:
            _check_name(name)
        region = context.region_slug(request.required("region"))
        size_slug = request.required("size")
        if size_slug not in catalogue.DROPLET_SIZES:
            raise unprocessable(f"You specified an invalid size for Droplet creation ({size_slug!r}).")
        image = resolve_image(store, request.required("image", (str, int)))
        if image["type"] != "base" and region not in image["regions"]:
            raise unprocessable(f"The image {image['id']} is not available in {region}.")
        keys = [_ssh_key_id(store, key) for key in body.get("ssh_keys") or []]
        tags = list(dict.fromkeys(body.get("tags") or []))
        context.ensure_tags(tags)
        vpc = context.vpc_for(region, body.get("vpc_uuid"))
        user_data = body.get("user_data")
        if user_data is not None and (not isinstance(user_data, str) or len(user_data.encode()) > 64 * 1024):
            raise unprocessable("user_data must be a string of at most 64 KiB.")
        features = ["private_networking"] + ["monitoring"] * bool(body.get("monitoring")) + ["ipv6"] * bool(body.get("ipv6")) + ["backups"] * bool(body.get("backups"))
        created = []
        for name in names:
            key = store.next_number("droplets", FIRST_DROPLET_ID)
            droplet = store.put("droplets", key, _new_droplet(key, name, region, size_slug, image, tags, vpc, features))
            droplet["ssh_key_ids"] = keys  # not in DigitalOcean's answer: kept for the backend (a VM's authorized keys)
            store.put("user_data", key, {"user_data": user_data})
            action = new_action(store, "create", key, "droplet", region)
            store.schedule(store.delays.droplet, "droplets.boot", key)
            context.backend.droplet_started(view(droplet), user_data)
            created.append((droplet, action))
        context.pools_changed()
        links = {"actions": [{"id": action["id"], "rel": "create", "href": f"{request.base_url}/v2/actions/{action['id']}"} for _, action in created]}
        if "names" in body:
            return 202, {"droplets": [view(droplet) for droplet, _ in created], "links": links}
        return 202, {"droplet": view(created[0][0]), "links": links}

    def get(request: Request) -> Answer:
        return 200, {"droplet": view(store.get("droplets", request.int_param("droplet_id"), f"droplet {request.params['droplet_id']}"))}

    def listing(request: Request) -> Answer:
        droplets = store.values("droplets")
        if "tag_name" in request.query:
            droplets = [droplet for droplet in droplets if request.query["tag_name"] in droplet["tags"]]
        if "name" in request.query:
            droplets = [droplet for droplet in droplets if droplet["name"] == request.query["name"]]
        return page(request, "droplets", [view(droplet) for droplet in droplets])

    def delete(request: Request) -> Answer:
        remove_droplet(context, request.int_param("droplet_id"))
        context.pools_changed()
        return 204, None

    def delete_by_tag(request: Request) -> Answer:
        if "tag_name" not in request.query:
            raise unprocessable("tag_name is required to delete droplets by tag.")
        for droplet in [droplet for droplet in store.values("droplets") if request.query["tag_name"] in droplet["tags"]]:
            remove_droplet(context, droplet["id"])
        context.pools_changed()
        return 204, None

    def snapshots(request: Request) -> Answer:
        key = request.int_param("droplet_id")
        droplet = store.get("droplets", key, f"droplet {key}")
        return page(request, "snapshots", [image_view(store.get("images", image)) for image in droplet["snapshot_ids"] if str(image) in store.collection("images")])

    return [
        Route("POST", "/v2/droplets", create),
        Route("GET", "/v2/droplets", listing),
        Route("DELETE", "/v2/droplets", delete_by_tag),
        Route("GET", "/v2/droplets/{droplet_id}", get),
        Route("DELETE", "/v2/droplets/{droplet_id}", delete),
        Route("GET", "/v2/droplets/{droplet_id}/snapshots", snapshots),
    ]


def view(droplet: dict[str, Any]) -> dict[str, Any]:
    """The droplet as DigitalOcean answers it (without what the stand-in keeps for itself)."""
    return {name: value for name, value in droplet.items() if name != "ssh_key_ids"}


def remove_droplet(context: Context, key: int) -> None:
    droplet = context.store.get("droplets", key, f"droplet {key}")
    context.backend.droplet_stopped(view(droplet), graceful=False)
    context.store.remove("droplets", key)
    context.store.collection("user_data").pop(str(key), None)


def user_data_of(store: Store, key: int) -> str | None:
    return store.collection("user_data").get(str(key), {}).get("user_data")


def _boot(context: Context, key: str) -> bool:
    droplet = context.store.collection("droplets").get(key)
    if droplet is None:
        return True
    if not context.backend.droplet_settled(view(droplet)):
        return False
    public, private = context.backend.droplet_address(droplet["id"])
    droplet["networks"] = {
        "v4": [
            {"ip_address": public, "netmask": "255.255.240.0", "gateway": public.rsplit(".", 1)[0] + ".1", "type": "public"},
            {"ip_address": private, "netmask": "255.255.240.0", "gateway": "0.0.0.0", "type": "private"},
        ],
        "v6": [],
    }
    droplet["status"] = "active"
    droplet["locked"] = False
    return True


def _new_droplet(key: int, name: str, region: str, size_slug: str, image: dict[str, Any], tags: list[str], vpc: str, features: list[str]) -> dict[str, Any]:
    size = catalogue.size(size_slug)
    return {
        "id": key,
        "name": name,
        "memory": size["memory"],
        "vcpus": size["vcpus"],
        "disk": size["disk"],
        "disk_info": size["disk_info"],
        "locked": False,
        "status": "new",
        "created_at": now_iso(),
        "features": features,
        "backup_ids": [],
        "next_backup_window": None,
        "snapshot_ids": [],
        "image": image_view(image),
        "volume_ids": [],
        "size": size,
        "size_slug": size_slug,
        "networks": {"v4": [], "v6": []},
        "region": catalogue.region(region),
        "tags": tags,
        "vpc_uuid": vpc,
    }


def _check_name(name: str) -> None:
    if not re.match(NAME_PATTERN, name):
        raise unprocessable(f"Droplet name {name!r} is invalid: only letters, digits, dots and dashes.")


def _ssh_key_id(store: Store, value: Any) -> int:
    for key in store.values("ssh_keys"):
        if value in (key["id"], str(key["id"]), key["fingerprint"]):
            return key["id"]
    raise unprocessable(f"ssh_keys: no SSH key {value!r} in this account.")
