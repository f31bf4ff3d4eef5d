"""Actions: what a droplet or an image is asked to do (shutdown, power_off, power_on, snapshot, transfer, ...), ``in-progress`` then ``completed``.

An action locks its droplet until it completes (another one answers 422, as DigitalOcean
does). It completes once its delay has passed and the backend has done the work (a
graceful shutdown waits for the app to drain and exit). ``resize``, ``rebuild`` and
``rename`` are accepted and recorded so that a test can see anybody asked for them; this
program's stacks never should (every change replaces the droplet).
"""

from __future__ import annotations

from typing import Any

from do_stand_in import catalogue
from do_stand_in.context import Context
from do_stand_in.errors import unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route
from do_stand_in.store import Store, now_iso

FIRST_ACTION_ID = 2000000001

DROPLET_ACTIONS = {"shutdown", "power_off", "power_on", "reboot", "power_cycle", "snapshot", "resize", "rebuild", "rename"}


def new_action(store: Store, kind: str, resource_id: int, resource_type: str, region: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    key = store.next_number("actions", FIRST_ACTION_ID)
    action = {
        "id": key,
        "status": "in-progress",
        "type": kind,
        "started_at": now_iso(),
        "completed_at": None,
        "resource_id": resource_id,
        "resource_type": resource_type,
        "region": catalogue.region(region),
        "region_slug": region,
    }
    store.put("actions", key, action)
    store.put("action_details", key, details or {})
    if kind != "create":
        store.schedule(store.delays.action, "actions.complete", key)
    return action


def routes(context: Context) -> list[Route]:
    store = context.store
    store.on("actions.complete", lambda store, key: _complete(context, key))

    def droplet_action(request: Request) -> Answer:
        from do_stand_in.resources.droplets import user_data_of, view

        key = request.int_param("droplet_id")
        droplet = store.get("droplets", key, f"droplet {key}")
        kind = request.required("type")
        if kind not in DROPLET_ACTIONS:
            raise unprocessable(f"The stand-in does not implement the droplet action {kind!r} (it implements {', '.join(sorted(DROPLET_ACTIONS))}).")
        if droplet["locked"] or droplet["status"] == "new":
            raise unprocessable("Droplet already has a pending event.")
        body = request.json_object()
        details: dict[str, Any] = {}
        if kind == "snapshot":
            details["name"] = body.get("name") or f"{droplet['name']}-{now_iso()}"
        elif kind == "resize":
            if request.required("size") not in catalogue.DROPLET_SIZES:
                raise unprocessable(f"You specified an invalid size ({body['size']!r}).")
            if droplet["status"] != "off":
                raise unprocessable("Droplet must be powered off to be resized.")
            details.update(size=body["size"], disk=bool(body.get("disk")))
        elif kind == "rebuild":
            from do_stand_in.resources.images import resolve_image

            details["image"] = resolve_image(store, request.required("image", (str, int)))["id"]
        elif kind == "rename":
            details["name"] = request.required("name")
        if kind in ("shutdown", "power_off") and droplet["status"] == "active":
            context.backend.droplet_stopped(view(droplet), graceful=kind == "shutdown")
        elif kind == "power_on" and droplet["status"] == "off":
            context.backend.droplet_started(view(droplet), user_data_of(store, key))
        droplet["locked"] = True
        action = new_action(store, kind, key, "droplet", droplet["region"]["slug"], details)
        return 201, {"action": action}

    def image_action(request: Request) -> Answer:
        key = request.int_param("image_id")
        image = store.get("images", key, f"image {key}")
        kind = request.required("type")
        if kind not in ("transfer", "convert"):
            raise unprocessable(f"The stand-in does not implement the image action {kind!r} (it implements transfer, convert).")
        details = {}
        if kind == "transfer":
            details["region"] = context.region_slug(request.required("region"))
        action = new_action(store, kind, key, "image", image["regions"][0] if image["regions"] else "nyc3", details)
        return 201, {"action": action}

    def one(request: Request) -> Answer:
        # By the action's id alone: the resource in the path is not checked. Packer 1.6.6 asks after an
        # image transfer with the transfer's id as the image id and the snapshot's action id
        # (step_snapshot.go), and its builds with snapshot_regions pass against DigitalOcean, so
        # DigitalOcean must answer by the action's id (inferred; not in its description).
        return 200, {"action": store.get("actions", request.int_param("action_id"), f"action {request.params['action_id']}")}

    def listing(resource_type: str, parameter: str):
        def get(request: Request) -> Answer:
            key = request.int_param(parameter)
            return page(request, "actions", [action for action in store.values("actions") if action["resource_type"] == resource_type and action["resource_id"] == key])

        return get

    return [
        Route("POST", "/v2/droplets/{droplet_id}/actions", droplet_action),
        Route("GET", "/v2/droplets/{droplet_id}/actions", listing("droplet", "droplet_id")),
        Route("GET", "/v2/droplets/{droplet_id}/actions/{action_id}", one),
        Route("POST", "/v2/images/{image_id}/actions", image_action),
        Route("GET", "/v2/images/{image_id}/actions", listing("image", "image_id")),
        Route("GET", "/v2/images/{image_id}/actions/{action_id}", one),
        Route("GET", "/v2/actions", lambda request: page(request, "actions", store.values("actions"))),
        Route("GET", "/v2/actions/{action_id}", one),
    ]


def _complete(context: Context, key: str) -> bool:
    store = context.store
    action = store.collection("actions").get(key)
    if action is None:
        return True
    details = store.collection("action_details").get(key, {})
    if action["resource_type"] == "droplet":
        droplet = store.collection("droplets").get(str(action["resource_id"]))
        if droplet is None:  # deleted while the action ran: DigitalOcean reports it errored
            action.update(status="errored", completed_at=now_iso())
            return True
        from do_stand_in.resources.droplets import view

        if action["type"] in ("shutdown", "power_off", "power_on") and not context.backend.droplet_settled(view(droplet)):
            return False
        _apply_to_droplet(context, droplet, action["type"], details)
        droplet["locked"] = False
    else:
        image = store.collection("images").get(str(action["resource_id"]))
        if image is None:
            action.update(status="errored", completed_at=now_iso())
            return True
        if action["type"] == "transfer" and details["region"] not in image["regions"]:
            image["regions"].append(details["region"])
    action.update(status="completed", completed_at=now_iso())
    return True


def _apply_to_droplet(context: Context, droplet: dict[str, Any], kind: str, details: dict[str, Any]) -> None:
    from do_stand_in.resources.images import image_view, new_snapshot

    store = context.store
    if kind in ("shutdown", "power_off"):
        droplet["status"] = "off"
    elif kind == "power_on":
        droplet["status"] = "active"
    elif kind == "snapshot":
        image = new_snapshot(store, details["name"], droplet)
        droplet["snapshot_ids"].append(image["id"])
    elif kind == "resize":
        size = catalogue.size(details["size"])
        droplet.update(size=size, size_slug=details["size"], memory=size["memory"], vcpus=size["vcpus"], disk=size["disk"] if details["disk"] else droplet["disk"])
    elif kind == "rebuild":
        droplet["image"] = image_view(store.get("images", details["image"]))
    elif kind == "rename":
        droplet["name"] = details["name"]
