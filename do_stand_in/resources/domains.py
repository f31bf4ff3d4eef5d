"""Domains and their records: create (with DigitalOcean's SOA and NS records), get, list, delete; records created, read, edited, deleted."""

from __future__ import annotations

import re
from typing import Any

from do_stand_in.context import Context
from do_stand_in.errors import ApiError, unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route

FIRST_RECORD_ID = 500000001
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
RECORD_TYPES = ("A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT")
NAME_SERVERS = ("ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com")
DEFAULT_TTL = 1800
RECORD_FIELDS = ("type", "name", "data", "priority", "port", "ttl", "weight", "flags", "tag")


def routes(context: Context) -> list[Route]:
    store = context.store

    def find(request: Request) -> dict[str, Any]:
        return store.get("domains", request.params["domain_name"], f"domain {request.params['domain_name']}")

    def new_record(domain: str, fields: dict[str, Any]) -> dict[str, Any]:
        key = store.next_number("records", FIRST_RECORD_ID)
        record = {"id": key, **{name: fields.get(name) for name in RECORD_FIELDS}}
        record["ttl"] = record["ttl"] or DEFAULT_TTL
        return store.put("records", key, {**record, "_domain": domain})

    def create(request: Request) -> Answer:
        name = request.required("name")
        if not DOMAIN_PATTERN.match(name):
            raise unprocessable(f"Name {name!r} is not a domain name.")
        if name in store.collection("domains"):
            raise unprocessable(f"Name {name} already exists.")
        domain = store.put("domains", name, {"name": name, "ttl": DEFAULT_TTL, "zone_file": ""})
        new_record(name, {"type": "SOA", "name": "@", "data": "1800", "ttl": DEFAULT_TTL})
        for server in NAME_SERVERS:
            new_record(name, {"type": "NS", "name": "@", "data": server, "ttl": DEFAULT_TTL})
        if request.json_object().get("ip_address"):
            new_record(name, {"type": "A", "name": "@", "data": request.json_object()["ip_address"], "ttl": DEFAULT_TTL})
        return 201, {"domain": domain}

    def delete(request: Request) -> Answer:
        domain = find(request)
        for record in records_of(domain["name"]):
            store.remove("records", record["id"])
        store.remove("domains", domain["name"])
        return 204, None

    def records_of(domain: str) -> list[dict[str, Any]]:
        return [record for record in store.values("records") if record["_domain"] == domain]

    def view(record: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in record.items() if name != "_domain"}

    def record(request: Request) -> dict[str, Any]:
        domain = find(request)
        found = store.collection("records").get(request.params["domain_record_id"])
        if found is None or found["_domain"] != domain["name"]:
            raise ApiError(404, "not_found", f"The domain record {request.params['domain_record_id']} could not be found.")
        return found

    def checked(fields: dict[str, Any]) -> dict[str, Any]:
        if fields.get("type") not in RECORD_TYPES or fields["type"] == "SOA":
            raise unprocessable(f"type must be one of {', '.join(kind for kind in RECORD_TYPES if kind != 'SOA')}.")
        if not fields.get("name") or not fields.get("data"):
            raise unprocessable("A record needs a name and data.")
        if fields["type"] == "A" and not re.match(r"^\d{1,3}(\.\d{1,3}){3}$", str(fields["data"])):
            raise unprocessable(f"An A record's data must be an IPv4 address, not {fields['data']!r}.")
        ttl = fields.get("ttl")
        if ttl is not None and (not isinstance(ttl, int) or ttl < 30):
            raise unprocessable("ttl must be at least 30.")
        return fields

    def create_record(request: Request) -> Answer:
        domain = find(request)
        return 201, {"domain_record": view(new_record(domain["name"], checked(request.json_object())))}

    def edit_record(request: Request) -> Answer:
        found = record(request)
        changes = request.json_object()
        merged = checked({**view(found), **changes}) if request.method == "PATCH" else checked({"type": found["type"], **changes})
        found.update({name: merged.get(name, found[name]) for name in RECORD_FIELDS})
        return 200, {"domain_record": view(found)}

    def delete_record(request: Request) -> Answer:
        store.remove("records", record(request)["id"])
        return 204, None

    def listing(request: Request) -> Answer:
        found = records_of(find(request)["name"])
        for name in ("type", "name"):
            if name in request.query:
                wanted = request.query[name]
                if name == "name" and wanted.endswith("." + request.params["domain_name"]):
                    wanted = wanted[: -len(request.params["domain_name"]) - 1]
                found = [record for record in found if record[name] == wanted]
        return page(request, "domain_records", [view(record) for record in found])

    base = "/v2/domains/{domain_name}"
    return [
        Route("POST", "/v2/domains", create),
        Route("GET", "/v2/domains", lambda request: page(request, "domains", store.values("domains"))),
        Route("GET", base, lambda request: (200, {"domain": find(request)})),
        Route("DELETE", base, delete),
        Route("POST", base + "/records", create_record),
        Route("GET", base + "/records", listing),
        Route("GET", base + "/records/{domain_record_id}", lambda request: (200, {"domain_record": view(record(request))})),
        Route("PUT", base + "/records/{domain_record_id}", edit_record),
        Route("PATCH", base + "/records/{domain_record_id}", edit_record),
        Route("DELETE", base + "/records/{domain_record_id}", delete_record),
    ]
