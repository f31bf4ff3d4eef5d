"""Load balancers: create, get, list, update (PUT), delete; forwarding rules, health check, a tag-based or listed pool.

A load balancer is ``new`` without an address until its delay has passed, then ``active``
with one; from then on the backend gets its pool (the droplets carrying its tag) after
every change of droplets or tags. HTTPS rules name a certificate that must exist.
"""

from __future__ import annotations

from typing import Any

from do_stand_in import catalogue
from do_stand_in.context import Context
from do_stand_in.errors import unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route
from do_stand_in.store import now_iso

ENTRY_PROTOCOLS = ("http", "https", "http2", "http3", "tcp", "udp")
TARGET_PROTOCOLS = ("http", "https", "http2", "tcp", "udp")
HEALTH_CHECK_DEFAULTS = {"protocol": "http", "port": 80, "path": "/", "check_interval_seconds": 10, "response_timeout_seconds": 5, "unhealthy_threshold": 5, "healthy_threshold": 5}
OPTIONS = {
    "algorithm": "round_robin",
    "redirect_http_to_https": False,
    "enable_proxy_protocol": False,
    "enable_backend_keepalive": False,
    "http_idle_timeout_seconds": 60,
    "disable_lets_encrypt_dns_records": False,
    "network": "EXTERNAL",
    "network_stack": "IPV4",
    "type": "REGIONAL",
    "project_id": catalogue.DEFAULT_PROJECT_ID,
    "tls_cipher_policy": "DEFAULT",
}


def routes(context: Context) -> list[Route]:
    store = context.store
    store.on("load_balancers.activate", lambda store, key: _activate(context, key))

    def fields(request: Request, region: str) -> dict[str, Any]:
        body = request.json_object()
        rules = [_forwarding_rule(context, rule) for rule in request.required("forwarding_rules", list)]
        if body.get("tag") and body.get("droplet_ids"):
            raise unprocessable("A load balancer pools droplets by tag or by id, not both.")
        if body.get("tag"):
            context.ensure_tags([body["tag"]])
        droplet_ids = [int(key) for key in body.get("droplet_ids") or []]
        for key in droplet_ids:
            store.get("droplets", key, f"droplet {key}")
        health_check = {**HEALTH_CHECK_DEFAULTS, **(body.get("health_check") or {})}
        if health_check["protocol"] not in ("http", "https", "tcp"):
            raise unprocessable("health_check.protocol must be http, https or tcp.")
        size_unit = body.get("size_unit", 1)
        if not isinstance(size_unit, int) or not 1 <= size_unit <= 100:
            raise unprocessable("size_unit must be 1 to 100.")
        return {
            "name": request.required("name"),
            "size_unit": size_unit,
            "forwarding_rules": rules,
            "health_check": health_check,
            "sticky_sessions": body.get("sticky_sessions") or {"type": "none"},
            **{name: body.get(name, default) for name, default in OPTIONS.items()},
            "firewall": body.get("firewall") or {"deny": [], "allow": []},
            "vpc_uuid": context.vpc_for(region, body.get("vpc_uuid")),
            "droplet_ids": droplet_ids,
            "tag": body.get("tag") or "",
        }

    def create(request: Request) -> Answer:
        region = context.region_slug(request.required("region"))
        key = store.new_uuid()
        balancer = {"id": key, "ip": "", "status": "new", "created_at": now_iso(), "region": catalogue.region(region), "domains": [], "target_load_balancer_ids": [], **fields(request, region)}
        store.put("load_balancers", key, balancer)
        store.schedule(store.delays.load_balancer, "load_balancers.activate", key)
        context.pools_changed()
        return 202, {"load_balancer": balancer}

    def find(request: Request) -> dict[str, Any]:
        return store.get("load_balancers", request.params["lb_id"], f"load balancer {request.params['lb_id']}")

    def update(request: Request) -> Answer:
        balancer = find(request)
        region = context.region_slug(request.required("region"))
        if region != balancer["region"]["slug"]:
            raise unprocessable("A load balancer cannot move to another region.")
        balancer.update(fields(request, region))
        context.pools_changed()
        return 200, {"load_balancer": balancer}

    def delete(request: Request) -> Answer:
        balancer = find(request)
        store.remove("load_balancers", balancer["id"])
        context.backend.load_balancer_deleted(balancer)
        return 204, None

    return [
        Route("POST", "/v2/load_balancers", create),
        Route("GET", "/v2/load_balancers", lambda request: page(request, "load_balancers", store.values("load_balancers"))),
        Route("GET", "/v2/load_balancers/{lb_id}", lambda request: (200, {"load_balancer": find(request)})),
        Route("PUT", "/v2/load_balancers/{lb_id}", update),
        Route("DELETE", "/v2/load_balancers/{lb_id}", delete),
    ]


def _activate(context: Context, key: str) -> None:
    balancer = context.store.collection("load_balancers").get(key)
    if balancer is not None:
        balancer.update(status="active", ip=context.backend.load_balancer_address(key))
        context.pools_changed()


def _forwarding_rule(context: Context, rule: Any) -> dict[str, Any]:
    if not isinstance(rule, dict) or rule.get("entry_protocol") not in ENTRY_PROTOCOLS or rule.get("target_protocol") not in TARGET_PROTOCOLS:
        raise unprocessable("A forwarding rule needs entry_protocol and target_protocol DigitalOcean knows.")
    for port in ("entry_port", "target_port"):
        if not isinstance(rule.get(port), int) or not 1 <= rule[port] <= 65535:
            raise unprocessable(f"A forwarding rule's {port} must be 1 to 65535.")
    cleaned = {name: rule[name] for name in ("entry_protocol", "entry_port", "target_protocol", "target_port")}
    cleaned["tls_passthrough"] = bool(rule.get("tls_passthrough"))
    certificate_id = rule.get("certificate_id") or ""
    if rule.get("certificate_name"):
        named = [certificate for certificate in context.store.values("certificates") if certificate["name"] == rule["certificate_name"]]
        if not named:
            raise unprocessable(f"certificate_name: no certificate {rule['certificate_name']!r}.")
        certificate_id = named[0]["id"]
    if certificate_id and certificate_id not in context.store.collection("certificates"):
        raise unprocessable(f"certificate_id: no certificate {certificate_id}.")
    if cleaned["entry_protocol"] in ("https", "http2", "http3") and not certificate_id and not cleaned["tls_passthrough"]:
        raise unprocessable("An HTTPS forwarding rule needs a certificate (or tls_passthrough).")
    cleaned["certificate_id"] = certificate_id
    return cleaned
