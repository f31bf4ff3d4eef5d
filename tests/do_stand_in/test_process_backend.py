"""The `process` backend: droplets run the real app, the load balancer is a real HAProxy, the database a real PostgreSQL with TLS.

Driven through the API as the program drives DigitalOcean: a cluster with its database and user,
a load balancer on the fleet tag, droplets whose user-data is what the program renders
(`components.common.cloud_init`). Then, under steady requests through the load balancer, one
droplet is shut down (it drains) and deleted: it leaves the pool and no request fails.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tools
from do_stand_in_harness import Client, start_stand_in
from postgres import available as postgres_available
from webapp_process import has_system_modules

from components.common.cloud_init import app_environment, migration_environment, render_user_data
from do_stand_in.backends.process import ProcessBackend
from do_stand_in.store import Delays

pytestmark = [pytest.mark.slow, require_tools("haproxy", "runuser", "openssl", present={"a PostgreSQL server (postgresql)": postgres_available(), "python3-psycopg2": has_system_modules("psycopg2")})]

IMAGE_NAME = "hello-1.4.2-0123456789ab"
APP_PORT = 8080
WAIT_SECONDS = 120


def wait_until(what: str, predicate: Callable[[], Any], timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def fetch(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}
    except OSError as error:
        return 0, {"error": str(error)}


class SteadyLoad:
    """A few clients asking the load balancer in a loop: every answer's status and instance, in order."""

    def __init__(self, url: str, clients: int = 3):
        self.url = url
        self.results: list[tuple[float, int, str | None]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(clients)]

    def _run(self) -> None:
        while not self._stop.is_set():
            status, body = fetch(self.url)
            self.results.append((time.monotonic(), status, body.get("instance")))
            time.sleep(0.05)

    def __enter__(self) -> SteadyLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=20)


def test_a_droplet_shut_down_and_deleted_leaves_the_pool_without_a_failed_request(tmp_path: Path) -> None:
    backend = ProcessBackend()
    stand_in = start_stand_in(tmp_path, backend=backend, delays=Delays.all(0.2))
    client = Client(stand_in.url)
    try:
        vpc = client.expect(201, "POST", "/v2/vpcs", {"name": "hello-test-vpc", "region": "nyc3"})["vpc"]
        client.expect(201, "POST", "/v2/tags", {"name": "hello-test-fleet"})
        cluster = client.expect(201, "POST", "/v2/databases", {"name": "hello-db", "engine": "pg", "size": "db-s-1vcpu-1gb", "num_nodes": 1, "region": "nyc3", "private_network_uuid": vpc["id"]})[
            "database"
        ]
        base = f"/v2/databases/{cluster['id']}"
        cluster = wait_until("the cluster online", lambda: (found := client.expect(200, "GET", base)["database"])["status"] == "online" and found)
        client.expect(201, "POST", base + "/dbs", {"name": "hello"})
        user = client.expect(201, "POST", base + "/users", {"name": "hello"})["user"]
        ca = base64.b64decode(client.expect(200, "GET", base + "/ca")["ca"]["certificate"]).decode()
        image = client.expect(201, "POST", "/_stand_in/images", {"name": IMAGE_NAME, "regions": ["nyc3"]})["image"]
        balancer = client.expect(
            202,
            "POST",
            "/v2/load_balancers",
            {
                "name": "hello-lb",
                "region": "nyc3",
                "vpc_uuid": vpc["id"],
                "tag": "hello-test-fleet",
                "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": APP_PORT}],
                "health_check": {"protocol": "http", "port": APP_PORT, "path": "/readyz", "check_interval_seconds": 1, "response_timeout_seconds": 1, "healthy_threshold": 2, "unhealthy_threshold": 2},
            },
        )["load_balancer"]
        balancer = wait_until("the load balancer active", lambda: (found := client.expect(200, "GET", f"/v2/load_balancers/{balancer['id']}")["load_balancer"])["status"] == "active" and found)
        private = cluster["private_connection"]
        admin = cluster["connection"]
        env = app_environment(
            app_env="test",
            app_port=APP_PORT,
            database_host=private["host"],
            database_port=private["port"],
            database_name="hello",
            database_user="hello",
            database_password=user["password"],
            app_secret="s3cret-value",
            drain_seconds=4,  # the check notices a draining server within 2 x 1 s + 1 s
            extra_env={},
        )
        # As on DigitalOcean: the schema's owner (the cluster's admin) only in migration.env, for the one-shot migration.
        migration = migration_environment(user=admin["user"], password=admin["password"])
        user_data = render_user_data(env, database_ca=ca, migration_env=migration)
        droplets = client.expect(
            202,
            "POST",
            "/v2/droplets",
            {"names": ["hello-test-0", "hello-test-1"], "region": "nyc3", "size": "s-1vcpu-1gb", "image": image["id"], "tags": ["hello-test-fleet"], "user_data": user_data},
        )["droplets"]
        ids = {str(droplet["id"]) for droplet in droplets}
        url = f"http://{balancer['ip']}/"
        seen: set[str] = set()

        def both_serve() -> bool:
            status, body = fetch(url)
            if status == 200:
                seen.add(body["instance"])
            return seen == ids

        wait_until("both droplets serving through the load balancer", both_serve)

        leaving, staying = (str(droplet["id"]) for droplet in droplets)
        with SteadyLoad(url) as load:
            time.sleep(1)
            action = client.expect(201, "POST", f"/v2/droplets/{leaving}/actions", {"type": "shutdown"})["action"]
            wait_until("the shutdown to complete", lambda: client.expect(200, "GET", f"/v2/actions/{action['id']}")["action"]["status"] == "completed", timeout=60)
            client.expect(204, "DELETE", f"/v2/droplets/{leaving}")
            deleted_at = time.monotonic()
            time.sleep(2)
        failed = [result for result in load.results if result[1] != 200]
        assert failed == [], f"{len(failed)} of {len(load.results)} requests failed: {failed[:5]}"
        assert len(load.results) > 50
        assert {instance for _, _, instance in load.results} == ids
        assert {instance for at, _, instance in load.results if at > deleted_at} == {staying}
        assert client.expect(200, "GET", f"/v2/load_balancers/{balancer['id']}")["load_balancer"]["droplet_ids"] == [int(staying)]
        assert list(backend.balancers[balancer["id"]].servers) == [f"pool_{APP_PORT}/droplet-{staying}"]
    finally:
        stand_in.stop()
    # Stopping the stand-in stops what it started.
    assert backend.droplets == {} and backend.balancers == {} and backend.clusters == {}
    assert fetch(url)[0] == 0
