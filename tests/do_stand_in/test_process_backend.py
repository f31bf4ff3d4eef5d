"""The `process` backend: droplets run the real app, the load balancer is a real HAProxy, the database a real PostgreSQL with TLS.

Driven through the API as the program drives DigitalOcean: a cluster with its database and user,
a load balancer on the fleet tag, droplets whose user-data is what the program renders
(`components.common.cloud_init`). Then, under steady requests through the load balancer, one
droplet is shut down (it drains) and deleted: it leaves the pool and no request fails.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tools
from do_stand_in_harness import Client, start_stand_in
from postgres import available as postgres_available
from webapp_process import has_system_modules

from components.common.cloud_init import app_environment, migration_environment, render_user_data
from components.common.gate import gate_command
from do_stand_in.backends.process import ProcessBackend
from do_stand_in.store import Delays

pytestmark = [pytest.mark.slow, require_tools("haproxy", "runuser", "openssl", present={"a PostgreSQL server (postgresql)": postgres_available(), "python3-psycopg2": has_system_modules("psycopg2")})]

IMAGE_NAME = "hello-1.4.2-0123456789ab"
NEXT_VERSION = "1.4.3"
NEXT_IMAGE_NAME = f"hello-{NEXT_VERSION}-abcdef012345"
UNEXPECTED_VERSION = "1.4.4"
GATE_TIMEOUT_SECONDS = 15
REPO = Path(__file__).resolve().parents[2]
APP_PORT = 8080
WAIT_SECONDS = 120
# A cluster is an initdb, a CA and a TLS PostgreSQL: the slow run's first one, on a clean clone under load, has taken over 120 s.
CLUSTER_WAIT_SECONDS = 300


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


@dataclass(frozen=True)
class Stack:
    """What the program creates before its droplets: a cluster, a balancer on the fleet tag, and the droplets' user-data."""

    balancer: dict[str, Any]
    user_data: str

    @property
    def url(self) -> str:
        return f"http://{self.balancer['ip']}/"


def register_image(client: Client, name: str) -> int:
    """An image as a bake leaves it; the process backend runs its app at the version its name carries."""
    return int(client.expect(201, "POST", "/_stand_in/images", {"name": name, "regions": ["nyc3"]})["image"]["id"])


def create_droplets(client: Client, stack: Stack, names: list[str], image_id: int) -> list[str]:
    """Droplets as the fleet declares them: on the fleet tag, with the program's user-data. Their ids, in order."""
    body = {"names": names, "region": "nyc3", "size": "s-1vcpu-1gb", "image": image_id, "tags": ["hello-test-fleet"], "user_data": stack.user_data}
    return [str(droplet["id"]) for droplet in client.expect(202, "POST", "/v2/droplets", body)["droplets"]]


def serving_instances(url: str, expected: set[str], asks: int = 20) -> set[str]:
    """The instances that answer 200 through the load balancer in up to ``asks`` requests (fewer once all of ``expected`` answered)."""
    seen: set[str] = set()
    for _ in range(asks):
        status, body = fetch(url)
        if status == 200:
            seen.add(body["instance"])
        if expected <= seen:
            break
    return seen


def deploy_stack(client: Client) -> Stack:
    """Through the API as the program does: a VPC, the fleet tag, a cluster with its database and user, a load balancer on the tag."""
    vpc = client.expect(201, "POST", "/v2/vpcs", {"name": "hello-test-vpc", "region": "nyc3"})["vpc"]
    client.expect(201, "POST", "/v2/tags", {"name": "hello-test-fleet"})
    cluster = client.expect(201, "POST", "/v2/databases", {"name": "hello-db", "engine": "pg", "size": "db-s-1vcpu-1gb", "num_nodes": 1, "region": "nyc3", "private_network_uuid": vpc["id"]})[
        "database"
    ]
    base = f"/v2/databases/{cluster['id']}"
    cluster = wait_until("the cluster online", lambda: (found := client.expect(200, "GET", base)["database"])["status"] == "online" and found, timeout=CLUSTER_WAIT_SECONDS)
    client.expect(201, "POST", base + "/dbs", {"name": "hello"})
    user = client.expect(201, "POST", base + "/users", {"name": "hello"})["user"]
    ca = base64.b64decode(client.expect(200, "GET", base + "/ca")["ca"]["certificate"]).decode()
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
    return Stack(balancer=balancer, user_data=user_data)


def test_a_droplet_shut_down_and_deleted_leaves_the_pool_without_a_failed_request(tmp_path: Path) -> None:
    backend = ProcessBackend()
    stand_in = start_stand_in(tmp_path, backend=backend, delays=Delays.all(0.2))
    client = Client(stand_in.url)
    try:
        stack = deploy_stack(client)
        balancer, url = stack.balancer, stack.url
        droplet_ids = create_droplets(client, stack, ["hello-test-0", "hello-test-1"], register_image(client, IMAGE_NAME))
        ids = set(droplet_ids)
        wait_until("both droplets serving through the load balancer", lambda: serving_instances(url, ids) == ids)

        leaving, staying = droplet_ids
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


def test_a_new_droplet_that_is_ready_but_fails_its_gate_serves_beside_the_old_fleet(tmp_path: Path) -> None:
    """What docs/security.md ("A failed gate") states: the pool is the fleet tag, so readiness, not the gate, admits a server.

    The old generation serves; the update's new droplet (another version) comes up ready; the gate the
    program renders (`gate_command`, run as `pulumi up` runs it) waits for a version the new droplet does not
    report, and fails at its timeout. All along, the new droplet takes a share of the traffic and the old
    one keeps serving. The same gate expecting the version the droplet does report passes, so the failure
    is the mismatch, not the set-up.
    """
    backend = ProcessBackend()
    stand_in = start_stand_in(tmp_path, backend=backend, delays=Delays.all(0.2))
    client = Client(stand_in.url)
    try:
        stack = deploy_stack(client)
        (old,) = create_droplets(client, stack, ["hello-test-0"], register_image(client, IMAGE_NAME))
        wait_until("the old generation serving", lambda: serving_instances(stack.url, {old}) == {old})
        (new,) = create_droplets(client, stack, ["hello-test-1"], register_image(client, NEXT_IMAGE_NAME))
        # Ready (its readiness passed): the balancer admits it by its tag, before any gate has run.
        wait_until("the new droplet taking traffic beside the old", lambda: serving_instances(stack.url, {old, new}) == {old, new})
        health_url = stack.url + "healthz"

        def gate(version: str) -> subprocess.CompletedProcess[str]:
            words = shlex.split(gate_command(sys.executable, health_url, version, [new], GATE_TIMEOUT_SECONDS, None))
            return subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=GATE_TIMEOUT_SECONDS + 60, check=False)

        with SteadyLoad(stack.url) as load:
            failed_gate = gate(UNEXPECTED_VERSION)
        assert failed_gate.returncode != 0, f"the gate passed for a version no server reports:\n{failed_gate.stderr}"
        assert f"waiting for {new}" in failed_gate.stderr, failed_gate.stderr
        answers = [(status, instance) for _, status, instance in load.results]
        assert [answer for answer in answers if answer[0] != 200] == [], "a request failed while the gate waited"
        served_by = {instance for _, instance in answers}
        assert served_by == {old, new}, f"while the gate failed, the balancer served from {served_by}: the new droplet {new} takes traffic beside the old {old}"
        # Nothing decided by the gate took it out of the pool: it is still there after the failure.
        assert sorted(str(droplet_id) for droplet_id in client.expect(200, "GET", f"/v2/load_balancers/{stack.balancer['id']}")["load_balancer"]["droplet_ids"]) == sorted([old, new])
        passed_gate = gate(NEXT_VERSION)
        assert passed_gate.returncode == 0, passed_gate.stderr
    finally:
        stand_in.stop()
