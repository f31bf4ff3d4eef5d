"""Managed database clusters (PostgreSQL): the cluster, its users, databases, firewall (trusted sources) and CA.

A cluster is ``creating`` until its delay has passed and the backend has it serving, then
``online``. Its answer carries the admin (``doadmin``) and the default database
(``defaultdb``) in ``connection`` and ``private_connection``, passwords included, as
DigitalOcean's does; the request log never records them.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import quote

from do_stand_in import catalogue
from do_stand_in.context import Context
from do_stand_in.errors import ApiError, unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route
from do_stand_in.store import now_iso

ADMIN = "doadmin"
DEFAULT_DATABASE = "defaultdb"
RULE_TYPES = ("droplet", "k8s", "ip_addr", "tag", "app")


def new_password() -> str:
    return "AVNS_" + secrets.token_urlsafe(15)


def routes(context: Context) -> list[Route]:
    store = context.store
    store.on("databases.online", lambda store, key: _online(context, key))

    def find(request: Request) -> dict[str, Any]:
        return store.get("databases", request.params["database_cluster_uuid"], f"database cluster {request.params['database_cluster_uuid']}")

    def create(request: Request) -> Answer:
        body = request.json_object()
        name = request.required("name")
        if request.required("engine") != "pg":
            raise unprocessable("The stand-in makes PostgreSQL clusters only (engine pg).")
        version = str(body.get("version") or catalogue.DATABASE_VERSIONS["pg"][-1])
        if version not in catalogue.DATABASE_VERSIONS["pg"]:
            raise unprocessable(f"version must be one of {', '.join(catalogue.DATABASE_VERSIONS['pg'])}.")
        if request.required("size") not in catalogue.DATABASE_SIZES:
            raise unprocessable(f"You specified an invalid size for a database cluster ({body['size']!r}).")
        nodes = request.required("num_nodes", int)
        if not 1 <= nodes <= 3:
            raise unprocessable("num_nodes must be 1 to 3.")
        region = context.region_slug(request.required("region"))
        if any(cluster["name"] == name for cluster in store.values("databases")):
            raise unprocessable(f"A database cluster named {name!r} already exists.")
        tags = list(body.get("tags") or [])
        context.ensure_tags(tags)
        key = store.new_uuid()
        cluster = {
            "id": key,
            "name": name,
            "engine": "pg",
            "version": version,
            "num_nodes": nodes,
            "size": body["size"],
            "region": region,
            "status": "creating",
            "created_at": now_iso(),
            "private_network_uuid": context.vpc_for(region, body.get("private_network_uuid")),
            "tags": tags,
            "db_names": [DEFAULT_DATABASE],
            "users": [{"name": ADMIN, "role": "primary", "password": new_password()}],
            "maintenance_window": {"day": "tuesday", "hour": "08:00:00", "pending": False, "description": []},
            "project_id": catalogue.DEFAULT_PROJECT_ID,
            "rules": [],
            "storage_size_mib": body.get("storage_size_mib") or 10240,
        }
        _connections(context, cluster)
        store.put("databases", key, cluster)
        context.backend.database_created(cluster)
        store.schedule(store.delays.database, "databases.online", key)
        return 201, {"database": cluster}

    def delete(request: Request) -> Answer:
        cluster = find(request)
        store.remove("databases", cluster["id"])
        context.backend.database_deleted(cluster)
        return 204, None

    def user(request: Request, cluster: dict[str, Any]) -> dict[str, Any]:
        for found in cluster["users"]:
            if found["name"] == request.params["username"]:
                return found
        raise ApiError(404, "not_found", f"The database user {request.params['username']} could not be found.")

    def create_user(request: Request) -> Answer:
        cluster = find(request)
        name = request.required("name")
        if any(found["name"] == name for found in cluster["users"]):
            raise unprocessable(f"The user {name} already exists.")
        created = {"name": name, "role": "normal", "password": new_password()}
        cluster["users"].append(created)
        context.backend.database_user_changed(cluster, created)
        return 201, {"user": created}

    def delete_user(request: Request) -> Answer:
        cluster = find(request)
        found = user(request, cluster)
        if found["name"] == ADMIN:
            raise unprocessable("The admin user cannot be deleted.")
        cluster["users"].remove(found)
        context.backend.database_user_changed(cluster, found, deleted=True)
        return 204, None

    def reset_auth(request: Request) -> Answer:
        cluster = find(request)
        found = user(request, cluster)
        found["password"] = new_password()
        context.backend.database_user_changed(cluster, found)
        _connections(context, cluster)
        return 200, {"user": found}

    def create_db(request: Request) -> Answer:
        cluster = find(request)
        name = request.required("name")
        if name in cluster["db_names"]:
            raise unprocessable(f"The database {name} already exists.")
        cluster["db_names"].append(name)
        context.backend.database_db_changed(cluster, name)
        return 201, {"db": {"name": name}}

    def get_db(request: Request) -> Answer:
        cluster = find(request)
        if request.params["database_name"] not in cluster["db_names"]:
            raise ApiError(404, "not_found", f"The database {request.params['database_name']} could not be found.")
        return 200, {"db": {"name": request.params["database_name"]}}

    def delete_db(request: Request) -> Answer:
        get_db(request)
        cluster = find(request)
        cluster["db_names"].remove(request.params["database_name"])
        context.backend.database_db_changed(cluster, request.params["database_name"], deleted=True)
        return 204, None

    def put_firewall(request: Request) -> Answer:
        cluster = find(request)
        rules = []
        for rule in request.required("rules", list):
            if not isinstance(rule, dict) or rule.get("type") not in RULE_TYPES or not isinstance(rule.get("value"), str) or not rule["value"]:
                raise unprocessable(f"A firewall rule needs a type ({', '.join(RULE_TYPES)}) and a value.")
            if rule["type"] == "tag":
                context.ensure_tags([rule["value"]])
            rules.append({"uuid": store.new_uuid(), "cluster_uuid": cluster["id"], "type": rule["type"], "value": rule["value"], "created_at": now_iso()})
        cluster["rules"] = rules
        return 204, None

    def ca(request: Request) -> Answer:
        cluster = find(request)
        return 200, {"ca": {"certificate": base64.b64encode(context.backend.database_ca(cluster).encode()).decode()}}

    base = "/v2/databases/{database_cluster_uuid}"
    return [
        Route("POST", "/v2/databases", create),
        Route("GET", "/v2/databases", lambda request: page(request, "databases", store.values("databases"))),
        Route("GET", base, lambda request: (200, {"database": find(request)})),
        Route("DELETE", base, delete),
        Route("POST", base + "/users", create_user),
        Route("GET", base + "/users", lambda request: (200, {"users": find(request)["users"]})),
        Route("GET", base + "/users/{username}", lambda request: (200, {"user": user(request, find(request))})),
        Route("DELETE", base + "/users/{username}", delete_user),
        Route("POST", base + "/users/{username}/reset_auth", reset_auth),
        Route("POST", base + "/dbs", create_db),
        Route("GET", base + "/dbs", lambda request: (200, {"dbs": [{"name": name} for name in find(request)["db_names"]]})),
        Route("GET", base + "/dbs/{database_name}", get_db),
        Route("DELETE", base + "/dbs/{database_name}", delete_db),
        Route("PUT", base + "/firewall", put_firewall),
        Route("GET", base + "/firewall", lambda request: (200, {"rules": find(request)["rules"]})),
        Route("GET", base + "/ca", ca),
    ]


def _connections(context: Context, cluster: dict[str, Any]) -> None:
    """``connection`` and ``private_connection``: the admin into the default database, at the backend's endpoint."""
    host, port = context.backend.database_endpoint(cluster)
    admin = cluster["users"][0]
    uri = f"postgresql://{ADMIN}:{quote(admin['password'])}@{host}:{port}/{DEFAULT_DATABASE}?sslmode=require"
    for field, prefix in (("connection", ""), ("private_connection", "private-")):
        named = host if context.backend.name != "api" else prefix + host
        cluster[field] = {"uri": uri.replace(host, named), "database": DEFAULT_DATABASE, "host": named, "port": port, "user": ADMIN, "password": admin["password"], "ssl": True}


def _online(context: Context, key: str) -> bool:
    cluster = context.store.collection("databases").get(key)
    if cluster is None:
        return True
    if not context.backend.database_ready(cluster):
        return False
    cluster["status"] = "online"
    return True
