"""Tags: create, get, list, delete, tag and untag resources (droplets, images, database clusters).

A tag's members are not kept twice: a droplet lists its tags, and a tag counts the droplets
that list it. Deleting a tag takes it off every resource, as on DigitalOcean.
"""

from __future__ import annotations

from typing import Any

from do_stand_in.context import Context, ensure_tag
from do_stand_in.errors import unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route

# resource_type in a tag request -> (collection, the member key in the tag's answer)
TAGGABLE = {"droplet": ("droplets", "droplets"), "image": ("images", "images"), "database": ("databases", "databases")}


def routes(context: Context) -> list[Route]:
    store = context.store

    def view(tag: dict[str, Any]) -> dict[str, Any]:
        resources: dict[str, Any] = {}
        total = 0
        for collection, member in TAGGABLE.values():
            count = sum(tag["name"] in record.get("tags", []) for record in store.values(collection))
            total += count
            resources[member] = {"count": count}
        for member in ("volumes", "volume_snapshots"):
            resources[member] = {"count": 0}
        return {"name": tag["name"], "resources": {"count": total, **resources}}

    def create(request: Request) -> Answer:
        return 201, {"tag": view(ensure_tag(store, request.required("name")))}

    def get(request: Request) -> Answer:
        return 200, {"tag": view(store.get("tags", request.params["tag_id"], f"tag {request.params['tag_id']}"))}

    def delete(request: Request) -> Answer:
        name = request.params["tag_id"]
        store.remove("tags", name)
        for collection, _ in TAGGABLE.values():
            for record in store.values(collection):
                if name in record.get("tags", []):
                    record["tags"].remove(name)
        context.pools_changed()
        return 204, None

    def change(adding: bool):
        def handle(request: Request) -> Answer:
            name = request.params["tag_id"]
            store.get("tags", name, f"tag {name}")
            resources = request.required("resources", list)
            records = []
            for resource in resources:
                kind = resource.get("resource_type") if isinstance(resource, dict) else None
                if kind not in TAGGABLE:
                    raise unprocessable(f"resource_type must be one of {', '.join(TAGGABLE)}.")
                records.append(store.get(TAGGABLE[kind][0], resource.get("resource_id"), f"{kind} {resource.get('resource_id')}"))
            for record in records:
                if adding and name not in record["tags"]:
                    record["tags"].append(name)
                elif not adding and name in record["tags"]:
                    record["tags"].remove(name)
            context.pools_changed()
            return 204, None

        return handle

    return [
        Route("POST", "/v2/tags", create),
        Route("GET", "/v2/tags", lambda request: page(request, "tags", [view(tag) for tag in store.values("tags")])),
        Route("GET", "/v2/tags/{tag_id}", get),
        Route("DELETE", "/v2/tags/{tag_id}", delete),
        Route("POST", "/v2/tags/{tag_id}/resources", change(adding=True)),
        Route("DELETE", "/v2/tags/{tag_id}/resources", change(adding=False)),
    ]
