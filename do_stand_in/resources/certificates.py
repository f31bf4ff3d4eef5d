"""Certificates: Let's Encrypt (``pending`` -> ``verified`` once every name is in a domain DigitalOcean serves) and custom (``verified`` at once).

A Let's Encrypt certificate for a name outside the account's domains is refused (422): DigitalOcean
can only answer the DNS challenge for a zone it serves, and this program orders the zone first.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from do_stand_in.context import Context
from do_stand_in.errors import unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route
from do_stand_in.store import Store, now_iso

VALIDITY = timedelta(days=90)


def routes(context: Context) -> list[Route]:
    store = context.store
    store.on("certificates.verify", _verify)

    def create(request: Request) -> Answer:
        body = request.json_object()
        name = request.required("name")
        kind = body.get("type", "custom")
        if any(certificate["name"] == name for certificate in store.values("certificates")):
            raise unprocessable(f"A certificate named {name!r} already exists.")
        if kind == "lets_encrypt":
            names = request.required("dns_names", list)
            domains = set(store.collection("domains"))
            outside = [dns_name for dns_name in names if not any(dns_name == domain or dns_name.endswith("." + domain) for domain in domains)]
            if outside:
                raise unprocessable(f"DNS names {', '.join(outside)} are not in a domain managed by DigitalOcean.")
        elif kind == "custom":
            for field in ("private_key", "leaf_certificate"):
                request.required(field)
            names = []
        else:
            raise unprocessable("type must be custom or lets_encrypt.")
        key = store.new_uuid()
        certificate = {
            "id": key,
            "name": name,
            "not_after": (datetime.now(UTC) + VALIDITY).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sha1_fingerprint": hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest(),
            "created_at": now_iso(),
            "dns_names": names,
            "state": "pending" if kind == "lets_encrypt" else "verified",
            "type": kind,
        }
        store.put("certificates", key, certificate)
        if kind == "lets_encrypt":
            store.schedule(store.delays.certificate, "certificates.verify", key)
        return 201, {"certificate": certificate}

    def find(request: Request) -> dict[str, Any]:
        return store.get("certificates", request.params["certificate_id"], f"certificate {request.params['certificate_id']}")

    def listing(request: Request) -> Answer:
        certificates = store.values("certificates")
        if "name" in request.query:
            certificates = [certificate for certificate in certificates if certificate["name"] == request.query["name"]]
        return page(request, "certificates", certificates)

    def delete(request: Request) -> Answer:
        certificate = find(request)
        for balancer in store.values("load_balancers"):
            if any(rule["certificate_id"] == certificate["id"] for rule in balancer["forwarding_rules"]):
                raise unprocessable("The certificate is in use by a load balancer.")
        store.remove("certificates", certificate["id"])
        return 204, None

    return [
        Route("POST", "/v2/certificates", create),
        Route("GET", "/v2/certificates", listing),
        Route("GET", "/v2/certificates/{certificate_id}", lambda request: (200, {"certificate": find(request)})),
        Route("DELETE", "/v2/certificates/{certificate_id}", delete),
    ]


def _verify(store: Store, key: str) -> None:
    certificate = store.collection("certificates").get(key)
    if certificate is not None:
        certificate["state"] = "verified"
