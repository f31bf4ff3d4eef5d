"""The account, its default project, regions, sizes and SSH keys (``/v2/account/keys``: create, get by id or fingerprint, rename, delete)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from do_stand_in import catalogue
from do_stand_in.context import Context
from do_stand_in.errors import unprocessable
from do_stand_in.paging import page
from do_stand_in.router import Answer, Request, Route

FIRST_KEY_ID = 40000001
KEY_TYPES = ("ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")


def fingerprint(public_key: str) -> str:
    """The MD5 fingerprint DigitalOcean shows (``aa:bb:...``), of the key's base64 blob; a malformed key is refused."""
    parts = public_key.split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise unprocessable("Key invalid, type not supported")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise unprocessable("Key invalid, key should be of the format `type key [comment]`") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[index : index + 2] for index in range(0, len(digest), 2))


def routes(context: Context) -> list[Route]:
    store = context.store

    def find(request: Request) -> dict[str, Any]:
        value = request.params["ssh_key_identifier"]
        for key in store.values("ssh_keys"):
            if value in (str(key["id"]), key["fingerprint"]):
                return key
        return store.get("ssh_keys", value, f"ssh key {value}")

    def create(request: Request) -> Answer:
        public_key = request.required("public_key").strip()
        name = request.required("name")
        printed = fingerprint(public_key)
        if any(key["fingerprint"] == printed for key in store.values("ssh_keys")):
            raise unprocessable("SSH Key is already in use on your account")
        key = store.next_number("ssh_keys", FIRST_KEY_ID)
        return 201, {"ssh_key": store.put("ssh_keys", key, {"id": key, "fingerprint": printed, "public_key": public_key, "name": name})}

    def rename(request: Request) -> Answer:
        key = find(request)
        key["name"] = request.required("name")
        return 200, {"ssh_key": key}

    def delete(request: Request) -> Answer:
        store.remove("ssh_keys", find(request)["id"])
        return 204, None

    return [
        Route("GET", "/v2/account", lambda request: (200, {"account": catalogue.account()})),
        Route("GET", "/v2/regions", lambda request: page(request, "regions", [catalogue.region(slug) for slug in sorted(catalogue.REGIONS)])),
        Route("GET", "/v2/sizes", lambda request: page(request, "sizes", [catalogue.size(slug) for slug in catalogue.DROPLET_SIZES])),
        Route("GET", "/v2/projects", lambda request: page(request, "projects", [catalogue.default_project()])),
        Route("GET", "/v2/projects/default", lambda request: (200, {"project": catalogue.default_project()})),
        Route("POST", "/v2/account/keys", create),
        Route("GET", "/v2/account/keys", lambda request: page(request, "ssh_keys", store.values("ssh_keys"))),
        Route("GET", "/v2/account/keys/{ssh_key_identifier}", lambda request: (200, {"ssh_key": find(request)})),
        Route("PUT", "/v2/account/keys/{ssh_key_identifier}", rename),
        Route("DELETE", "/v2/account/keys/{ssh_key_identifier}", delete),
    ]
