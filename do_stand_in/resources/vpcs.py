"""VPCs: create, get, list, update, delete (refused while it has members, as DigitalOcean refuses it: 403), members.

Each region has a default VPC, made on first use, where a droplet without ``vpc_uuid`` goes.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from do_stand_in.context import Context
from do_stand_in.errors import ApiError, unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route
from do_stand_in.store import now_iso

MEMBER_COLLECTIONS = {"droplets": "droplet", "load_balancers": "loadbalancer", "databases": "dbaas"}


def routes(context: Context) -> list[Route]:
    store = context.store

    def members(key: str) -> list[dict[str, Any]]:
        found = []
        for collection, kind in MEMBER_COLLECTIONS.items():
            for record in store.values(collection):
                if key in (record.get("vpc_uuid"), record.get("private_network_uuid")):
                    found.append({"urn": f"do:{kind}:{record['id']}", "name": record["name"], "created_at": record["created_at"]})
        return found

    def create(request: Request) -> Answer:
        name = request.required("name")
        region = context.region_slug(request.required("region"))
        if any(vpc["name"] == name for vpc in store.values("vpcs")):
            raise unprocessable(f"A VPC named {name!r} already exists.")
        ip_range = request.json_object().get("ip_range") or _next_range(context)
        try:
            ipaddress.ip_network(ip_range)
        except ValueError:
            raise unprocessable(f"ip_range {ip_range!r} is not a network.") from None
        key = store.new_uuid()
        description = request.json_object().get("description") or ""
        vpc = {"id": key, "urn": f"do:vpc:{key}", "name": name, "description": description, "region": region, "ip_range": ip_range, "default": False, "created_at": now_iso()}
        return 201, {"vpc": store.put("vpcs", key, vpc)}

    def get(request: Request) -> Answer:
        return 200, {"vpc": store.get("vpcs", request.params["vpc_id"], f"vpc {request.params['vpc_id']}")}

    def update(request: Request) -> Answer:
        vpc = store.get("vpcs", request.params["vpc_id"], f"vpc {request.params['vpc_id']}")
        body = request.json_object()
        if request.method == "PUT":
            request.required("name")
        for name in ("name", "description", "default"):
            if name in body:
                vpc[name] = body[name]
        return 200, {"vpc": vpc}

    def delete(request: Request) -> Answer:
        key = request.params["vpc_id"]
        vpc = store.get("vpcs", key, f"vpc {key}")
        if vpc["default"]:
            raise ApiError(403, "forbidden", "A region's default VPC cannot be deleted.")
        if members(key):
            raise ApiError(403, "forbidden", "Can not delete VPC with members")
        store.remove("vpcs", key)
        return 204, None

    def listing_members(request: Request) -> Answer:
        store.get("vpcs", request.params["vpc_id"], f"vpc {request.params['vpc_id']}")
        return page(request, "members", members(request.params["vpc_id"]))

    return [
        Route("POST", "/v2/vpcs", create),
        Route("GET", "/v2/vpcs", lambda request: page(request, "vpcs", store.values("vpcs"))),
        Route("GET", "/v2/vpcs/{vpc_id}", get),
        Route("PUT", "/v2/vpcs/{vpc_id}", update),
        Route("PATCH", "/v2/vpcs/{vpc_id}", update),
        Route("DELETE", "/v2/vpcs/{vpc_id}", delete),
        Route("GET", "/v2/vpcs/{vpc_id}/members", listing_members),
    ]


def _next_range(context: Context) -> str:
    taken = {vpc["ip_range"] for vpc in context.store.values("vpcs")}
    for network in ipaddress.ip_network("10.128.0.0/12").subnets(new_prefix=20):
        if str(network) not in taken:
            return str(network)
    raise unprocessable("No free /20 left for a VPC.")
