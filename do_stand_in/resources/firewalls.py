"""Cloud firewalls: create, get, list, replace (PUT), delete; add and remove rules, droplets and tags.

A firewall is ``waiting`` until applied (the action delay), then ``succeeded``. Rules are
checked as DigitalOcean checks them: a known protocol, ports for tcp and udp, and sources
or destinations that exist (a load balancer uid, a droplet id) or parse (an address).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from do_stand_in.context import Context
from do_stand_in.errors import unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route
from do_stand_in.store import Store, now_iso

PROTOCOLS = ("tcp", "udp", "icmp")
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9.-]+$")
PORTS_PATTERN = re.compile(r"^(all|0|\d{1,5}(-\d{1,5})?)$")


def routes(context: Context) -> list[Route]:
    store = context.store
    store.on("firewalls.apply", _apply)

    def body_fields(request: Request) -> dict[str, Any]:
        body = request.json_object()
        if not NAME_PATTERN.match(request.required("name")):
            raise unprocessable("A firewall's name is letters, digits, dots and dashes, two or more, starting with a letter or digit.")
        fields = {
            "name": body["name"],
            "inbound_rules": [_rule(store, rule, "sources") for rule in body.get("inbound_rules") or []],
            "outbound_rules": [_rule(store, rule, "destinations") for rule in body.get("outbound_rules") or []],
            "droplet_ids": [_droplet(store, key) for key in body.get("droplet_ids") or []],
            "tags": list(body.get("tags") or []),
        }
        if not fields["inbound_rules"] and not fields["outbound_rules"]:
            raise unprocessable("A firewall needs at least one inbound or outbound rule.")
        context.ensure_tags(fields["tags"])
        return fields

    def create(request: Request) -> Answer:
        key = store.new_uuid()
        firewall = {"id": key, "status": "waiting", "created_at": now_iso(), "pending_changes": [], **body_fields(request)}
        store.put("firewalls", key, firewall)
        store.schedule(store.delays.action, "firewalls.apply", key)
        return 202, {"firewall": firewall}

    def find(request: Request) -> dict[str, Any]:
        return store.get("firewalls", request.params["firewall_id"], f"firewall {request.params['firewall_id']}")

    def replace(request: Request) -> Answer:
        firewall = find(request)
        firewall.update(body_fields(request), status="waiting")
        store.schedule(store.delays.action, "firewalls.apply", firewall["id"])
        return 200, {"firewall": firewall}

    def delete(request: Request) -> Answer:
        store.remove("firewalls", find(request)["id"])
        return 204, None

    def members(field: str, adding: bool):
        def handle(request: Request) -> Answer:
            firewall = find(request)
            body = request.json_object()
            if field == "rules":
                changes = {"inbound_rules": [_rule(store, rule, "sources") for rule in body.get("inbound_rules") or []]}
                changes["outbound_rules"] = [_rule(store, rule, "destinations") for rule in body.get("outbound_rules") or []]
            else:
                values = request.required(field, list)
                if field == "droplet_ids":
                    values = [_droplet(store, key) for key in values]
                else:
                    context.ensure_tags(values)
                changes = {field: values}
            for name, values in changes.items():
                if adding:
                    firewall[name] += [value for value in values if value not in firewall[name]]
                else:
                    firewall[name] = [value for value in firewall[name] if value not in values]
            firewall["status"] = "waiting"
            store.schedule(store.delays.action, "firewalls.apply", firewall["id"])
            return 204, None

        return handle

    routes = [
        Route("POST", "/v2/firewalls", create),
        Route("GET", "/v2/firewalls", lambda request: page(request, "firewalls", store.values("firewalls"))),
        Route("GET", "/v2/firewalls/{firewall_id}", lambda request: (200, {"firewall": find(request)})),
        Route("PUT", "/v2/firewalls/{firewall_id}", replace),
        Route("DELETE", "/v2/firewalls/{firewall_id}", delete),
    ]
    for path, field in (("droplets", "droplet_ids"), ("tags", "tags"), ("rules", "rules")):
        routes += [Route("POST", f"/v2/firewalls/{{firewall_id}}/{path}", members(field, True)), Route("DELETE", f"/v2/firewalls/{{firewall_id}}/{path}", members(field, False))]
    return routes


def _apply(store: Store, key: str) -> None:
    firewall = store.collection("firewalls").get(key)
    if firewall is not None:
        firewall["status"] = "succeeded"


def _droplet(store: Store, key: Any) -> int:
    if str(key) not in store.collection("droplets"):
        raise unprocessable(f"droplet_ids: no droplet {key}.")
    return int(key)


def _rule(store: Store, rule: Any, ends: str) -> dict[str, Any]:
    if not isinstance(rule, dict) or rule.get("protocol") not in PROTOCOLS:
        raise unprocessable(f"A firewall rule's protocol must be one of {', '.join(PROTOCOLS)}.")
    ports = str(rule.get("ports", ""))
    if rule["protocol"] != "icmp" and not PORTS_PATTERN.match(ports):
        raise unprocessable(f"A {rule['protocol']} rule needs ports: a port, a range (1-65535) or all; not {ports!r}.")
    targets = rule.get(ends) or {}
    if not isinstance(targets, dict) or not any(targets.values()):
        raise unprocessable(f"A firewall rule needs {ends}.")
    for address in targets.get("addresses") or []:
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            raise unprocessable(f"{address!r} is not an address or a network.") from None
    for uid in targets.get("load_balancer_uids") or []:
        if uid not in store.collection("load_balancers"):
            raise unprocessable(f"load_balancer_uids: no load balancer {uid}.")
    for key in targets.get("droplet_ids") or []:
        _droplet(store, key)
    # DigitalOcean answers "0" for every port (an icmp rule's, or "all"): the provider's flatten maps it back (firewalls.go).
    return {"protocol": rule["protocol"], "ports": "0" if rule["protocol"] == "icmp" or ports == "all" else ports, ends: {name: value for name, value in targets.items() if value}}
