"""The state machine: statuses move on after their delays (a fake clock), actions lock and complete, state survives a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from do_stand_in.backends.api import ApiBackend
from do_stand_in.context import Context
from do_stand_in.resources import actions, droplets, images
from do_stand_in.router import Request, Router
from do_stand_in.store import Delays, Store


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make(clock: FakeClock, state_dir: Path | None = None) -> tuple[Store, Router]:
    store = Store(Delays(droplet=5, action=3), state_dir, clock=clock)
    context = Context(store, ApiBackend())
    return store, Router([*droplets.routes(context), *actions.routes(context), *images.routes(context)])


def call(store: Store, router: Router, method: str, path: str, body: object = None) -> tuple[int, Any]:
    found = router.match(method, path)
    assert found is not None, f"{method} {path}"
    route, params = found
    with store.lock:
        store.tick()
        return route.handler(Request(method, path.partition("?")[0], {}, body, params=params))


DROPLET = {"name": "web-0", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}


def test_a_droplet_is_new_until_its_delay_has_passed_then_active_with_addresses() -> None:
    clock = FakeClock()
    store, router = make(clock)
    _, created = call(store, router, "POST", "/v2/droplets", DROPLET)
    key = created["droplet"]["id"]
    clock.now += 4.9
    assert call(store, router, "GET", f"/v2/droplets/{key}")[1]["droplet"]["status"] == "new"
    clock.now += 0.2
    droplet = call(store, router, "GET", f"/v2/droplets/{key}")[1]["droplet"]
    assert droplet["status"] == "active"
    assert [network["type"] for network in droplet["networks"]["v4"]] == ["public", "private"]


def test_an_action_locks_the_droplet_until_it_completes_and_then_applies() -> None:
    clock = FakeClock()
    store, router = make(clock)
    key = call(store, router, "POST", "/v2/droplets", DROPLET)[1]["droplet"]["id"]
    clock.now += 5
    status, answer = call(store, router, "POST", f"/v2/droplets/{key}/actions", {"type": "shutdown"})
    assert status == 201 and answer["action"]["status"] == "in-progress"
    from do_stand_in.errors import ApiError

    try:
        call(store, router, "POST", f"/v2/droplets/{key}/actions", {"type": "shutdown"})
        raise AssertionError("a second action on a locked droplet was accepted")
    except ApiError as error:
        assert (error.status, error.message) == (422, "Droplet already has a pending event.")
    clock.now += 3
    action = call(store, router, "GET", f"/v2/actions/{answer['action']['id']}")[1]["action"]
    droplet = call(store, router, "GET", f"/v2/droplets/{key}")[1]["droplet"]
    assert (action["status"], droplet["status"], droplet["locked"]) == ("completed", "off", False)


def test_a_snapshot_action_makes_an_image_of_the_droplet_that_outlives_it() -> None:
    clock = FakeClock()
    store, router = make(clock)
    key = call(store, router, "POST", "/v2/droplets", DROPLET)[1]["droplet"]["id"]
    clock.now += 5
    call(store, router, "POST", f"/v2/droplets/{key}/actions", {"type": "snapshot", "name": "hello-1.4.2-0123456789ab"})
    clock.now += 3
    assert call(store, router, "DELETE", f"/v2/droplets/{key}")[0] == 204
    snapshots = call(store, router, "GET", "/v2/snapshots")[1]["snapshots"]
    assert [(snapshot["name"], snapshot["resource_id"]) for snapshot in snapshots] == [("hello-1.4.2-0123456789ab", str(key))]


def test_deleting_an_active_droplet_is_allowed_and_it_is_gone_at_once() -> None:
    clock = FakeClock()
    store, router = make(clock)
    key = call(store, router, "POST", "/v2/droplets", DROPLET)[1]["droplet"]["id"]
    clock.now += 5
    assert call(store, router, "DELETE", f"/v2/droplets/{key}") == (204, None)
    assert str(key) not in store.collection("droplets")


def test_records_ids_and_pending_transitions_survive_a_restart_with_a_state_folder(tmp_path: Path) -> None:
    clock = FakeClock()
    store, router = make(clock, tmp_path)
    first = call(store, router, "POST", "/v2/droplets", DROPLET)[1]["droplet"]["id"]
    store.save()
    assert (tmp_path / "state.json").stat().st_mode & 0o777 == 0o600
    again, router = make(clock, tmp_path)
    clock.now += 5
    assert call(again, router, "GET", f"/v2/droplets/{first}")[1]["droplet"]["status"] == "active"
    second = call(again, router, "POST", "/v2/droplets", {**DROPLET, "name": "web-1"})[1]["droplet"]["id"]
    assert second == first + 1
