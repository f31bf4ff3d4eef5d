"""Images and snapshots: DigitalOcean's distribution images, snapshots made by droplet actions or registered, their listing and deletion.

A droplet snapshot is an image (``/v2/images/{id}``, numeric id) and a snapshot
(``/v2/snapshots/{id}``, the same id as a string), as on DigitalOcean. ``register``
makes one without a droplet: the promote path needs an image a baking stack would have made.
"""

from __future__ import annotations

from typing import Any

from do_stand_in import catalogue
from do_stand_in.context import Context
from do_stand_in.errors import not_found, unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route
from do_stand_in.store import Store, now_iso

FIRST_IMAGE_ID = 150000001
# slug: (id, name, distribution, minimum disk GiB)
DISTRIBUTIONS = {
    "debian-12-x64": (106569146, "12 x64", "Debian", 7),
    "debian-13-x64": (196254112, "13 x64", "Debian", 7),
    "ubuntu-24-04-x64": (112929454, "24.04 (LTS) x64", "Ubuntu", 7),
}


def routes(context: Context) -> list[Route]:
    store = context.store

    def listing(request: Request) -> Answer:
        images = all_images(store)
        if request.query.get("private") == "true":
            images = [image for image in images if not image["public"]]
        if "type" in request.query:
            wanted = {"distribution": "base", "application": "application"}.get(request.query["type"], request.query["type"])
            images = [image for image in images if image["type"] == wanted and image["public"]]
        if "tag_name" in request.query:
            images = [image for image in images if request.query["tag_name"] in image["tags"]]
        return page(request, "images", [image_view(image) for image in images])

    def get(request: Request) -> Answer:
        return 200, {"image": image_view(resolve_image(store, request.params["image_id"], status=404))}

    def update(request: Request) -> Answer:
        image = _private(store, request.params["image_id"])
        body = request.json_object()
        for name in ("name", "description", "distribution"):
            if name in body:
                image[name] = body[name]
        return 200, {"image": image_view(image)}

    def delete(request: Request) -> Answer:
        image = _private(store, request.params["image_id"])
        store.remove("images", image["id"])
        return 204, None

    def snapshots(request: Request) -> Answer:
        kind = request.query.get("resource_type")
        if kind not in (None, "droplet", "volume"):
            raise unprocessable("resource_type must be droplet or volume.")
        chosen = [image for image in all_images(store) if image["type"] == "snapshot" and kind != "volume"]
        return page(request, "snapshots", [snapshot_view(image) for image in chosen])

    def snapshot(request: Request) -> Answer:
        return 200, {"snapshot": snapshot_view(_snapshot(store, request.params["snapshot_id"]))}

    def delete_snapshot(request: Request) -> Answer:
        store.remove("images", _snapshot(store, request.params["snapshot_id"])["id"])
        return 204, None

    return [
        Route("GET", "/v2/images", listing),
        Route("GET", "/v2/images/{image_id}", get),
        Route("PUT", "/v2/images/{image_id}", update),
        Route("DELETE", "/v2/images/{image_id}", delete),
        Route("GET", "/v2/snapshots", snapshots),
        Route("GET", "/v2/snapshots/{snapshot_id}", snapshot),
        Route("DELETE", "/v2/snapshots/{snapshot_id}", delete_snapshot),
    ]


def all_images(store: Store) -> list[dict[str, Any]]:
    _seed_distributions(store)
    return store.values("images")


def resolve_image(store: Store, value: str | int, status: int = 422) -> dict[str, Any]:
    """An image by id or by a public image's slug; unknown: 422 in a create (DigitalOcean's answer), 404 in a GET."""
    for image in all_images(store):
        if str(value) in (str(image["id"]), image["slug"]):
            return image
    if status == 404:
        raise not_found(f"image {value}")
    raise unprocessable(f"You specified an invalid image for Droplet creation ({value!r}).")


def image_view(image: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in image.items() if not name.startswith("_")}


def snapshot_view(image: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(image["id"]),
        "name": image["name"],
        "created_at": image["created_at"],
        "regions": image["regions"],
        "resource_id": str(image.get("_droplet_id", "")),
        "resource_type": "droplet",
        "min_disk_size": image["min_disk_size"],
        "size_gigabytes": image["size_gigabytes"],
        "tags": image["tags"],
    }


def new_snapshot(store: Store, name: str, droplet: dict[str, Any] | None, regions: list[str] | None = None, distribution: str = "Debian") -> dict[str, Any]:
    """A private snapshot image: of ``droplet`` (in its region), or registered without one (in ``regions``)."""
    key = store.next_number("images", FIRST_IMAGE_ID)
    image = {
        "id": key,
        "name": name,
        "type": "snapshot",
        "distribution": droplet["image"]["distribution"] if droplet else distribution,
        "slug": None,
        "public": False,
        "regions": [droplet["region"]["slug"]] if droplet else list(regions or []),
        "created_at": now_iso(),
        "min_disk_size": droplet["disk"] if droplet else 25,
        "size_gigabytes": 2.36,
        "description": "",
        "tags": [],
        "status": "available",
        "error_message": "",
    }
    if droplet is not None:
        image["_droplet_id"] = droplet["id"]
    return store.put("images", key, image)


def register(store: Store, name: str, regions: list[str]) -> dict[str, Any]:
    """A snapshot named ``name`` in ``regions``, as if a baking stack had made it (the promote path)."""
    unknown = [region for region in regions if region not in catalogue.REGIONS]
    if not name or not regions or unknown:
        raise unprocessable(f"An image needs a name and one or more known regions (unknown: {', '.join(unknown) or 'none'}).")
    return new_snapshot(store, name, None, regions)


def _seed_distributions(store: Store) -> None:
    images = store.collection("images")
    for slug, (key, name, distribution, disk) in DISTRIBUTIONS.items():
        if str(key) not in images:
            images[str(key)] = {
                "id": key,
                "name": name,
                "type": "base",
                "distribution": distribution,
                "slug": slug,
                "public": True,
                "regions": sorted(catalogue.REGIONS),
                "created_at": "2024-01-01T00:00:00Z",
                "min_disk_size": disk,
                "size_gigabytes": 0.5,
                "description": f"{distribution} {name}",
                "tags": [],
                "status": "available",
                "error_message": "",
            }


def _private(store: Store, value: str) -> dict[str, Any]:
    image = resolve_image(store, value, status=404)
    if image["public"]:
        raise unprocessable("A public image cannot be changed or deleted.")
    return image


def _snapshot(store: Store, value: str) -> dict[str, Any]:
    image = store.collection("images").get(value)
    if image is None or image["type"] != "snapshot":
        raise not_found(f"snapshot {value}")
    return image
