"""The server's own behaviour: authentication, DigitalOcean's error shape, 404 for what it does not implement, a request log without secrets."""

from __future__ import annotations

import json
from pathlib import Path

from do_stand_in_harness import TOKEN, Client, RecordingStandIn, start_stand_in


def test_a_request_without_a_bearer_token_is_refused_401_in_digitaloceans_shape(stand_in: RecordingStandIn) -> None:
    status, answer = Client(stand_in.url, token=None).call("GET", "/v2/account")
    assert status == 401
    assert (answer["id"], answer["message"]) == ("unauthorized", "Unable to authenticate you")
    assert answer["request_id"]


def test_with_a_token_set_only_that_token_is_accepted(tmp_path: Path) -> None:
    running = start_stand_in(tmp_path, token=TOKEN)
    try:
        assert Client(running.url, token="another").call("GET", "/v2/account")[0] == 401
        assert Client(running.url).call("GET", "/v2/account")[0] == 200
    finally:
        running.stop()


def test_an_endpoint_it_does_not_implement_answers_404_naming_it_and_is_logged(stand_in: RecordingStandIn, client: Client) -> None:
    status, answer = client.call("POST", "/v2/kubernetes/clusters", {"name": "k"})
    assert status == 404
    assert answer["id"] == "not_found"
    assert "does not implement POST /v2/kubernetes/clusters" in answer["message"]
    assert [(entry["method"], entry["path"]) for entry in stand_in.log_entries() if entry.get("unimplemented")] == [("POST", "/v2/kubernetes/clusters")]


def test_a_missing_resource_is_404_and_an_invalid_request_422(client: Client) -> None:
    status, answer = client.call("GET", "/v2/droplets/123")
    assert (status, answer["id"]) == (404, "not_found")
    status, answer = client.call("POST", "/v2/droplets", {"name": "web-0", "region": "nyc3", "size": "s-99", "image": "debian-12-x64"})
    assert (status, answer["id"]) == (422, "unprocessable_entity")
    assert "invalid size" in answer["message"]


def test_the_request_log_has_one_line_a_request_in_order_and_never_a_token_password_or_user_data(stand_in: RecordingStandIn, client: Client) -> None:
    client.expect(202, "POST", "/v2/droplets", {"name": "web-0", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "user_data": "DATABASE_PASSWORD=hunter2"})
    cluster = client.expect(201, "POST", "/v2/databases", {"name": "db", "engine": "pg", "size": "db-s-1vcpu-1gb", "num_nodes": 1, "region": "nyc3"})["database"]
    user = client.expect(201, "POST", f"/v2/databases/{cluster['id']}/users", {"name": "hello"})["user"]
    text = stand_in.request_log.read_text()
    for secret in (TOKEN, "hunter2", user["password"], cluster["connection"]["password"]):
        assert secret not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [(entry["method"], entry["path"], entry["status"]) for entry in entries] == [
        ("POST", "/v2/droplets", 202),
        ("POST", "/v2/databases", 201),
        ("POST", f"/v2/databases/{cluster['id']}/users", 201),
    ]
    assert entries[0]["request"]["user_data"] == "(redacted)"
    assert entries[0]["resource_id"] == 300000001
