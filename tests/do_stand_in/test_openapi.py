"""The check itself: it finds what DigitalOcean's description forbids, the server's check mode answers a mismatch loudly, and each repair of the bundled document matches the original files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from do_stand_in_harness import Client, start_stand_in

from do_stand_in import catalogue
from do_stand_in.openapi import Exchange, OpenApiCheck, description_path, load_description, repair

SPECIFICATION = description_path().parent / "specification"


def test_an_answer_missing_required_fields_is_found(openapi_check: OpenApiCheck) -> None:
    exchange = Exchange("GET", "/v2/droplets/5", {}, b"", 200, json.dumps({"droplet": {"id": 5}}).encode())
    problems = openapi_check.problems(exchange)
    assert len(problems) == 1 and "'size_slug' is a required property" in problems[0]


def test_in_check_mode_the_server_answers_a_mismatch_500_and_logs_it(tmp_path: Path, openapi_check: OpenApiCheck, monkeypatch: pytest.MonkeyPatch) -> None:
    account = catalogue.account()
    del account["email"]
    monkeypatch.setattr(catalogue, "account", lambda: account)
    running = start_stand_in(tmp_path, check=openapi_check)
    try:
        status, answer = Client(running.url).call("GET", "/v2/account")
        assert status == 500 and answer["id"] == "stand_in_openapi_mismatch" and "'email' is a required property" in answer["message"]
        assert "'email' is a required property" in running.log_entries()[0]["openapi"][0]
    finally:
        running.stop()


def test_the_providers_icmp_rule_without_ports_is_tolerated_in_a_request_only_where_asked(openapi_check: OpenApiCheck) -> None:
    # As godo sends it: an icmp rule's empty port range is left out, and no droplets is null.
    rule = {"protocol": "icmp", "destinations": {"addresses": ["0.0.0.0/0"]}}
    body = {"name": "fleet-firewall", "inbound_rules": [], "outbound_rules": [rule], "droplet_ids": None, "tags": ["hello-staging-fleet"]}
    answer = {
        "firewall": {**body, "id": "4de7ac8b-495b-4884-9a69-1050c6793cd6", "status": "waiting", "created_at": "2026-01-01T00:00:00Z", "pending_changes": [], "droplet_ids": []},
    }
    answer["firewall"]["outbound_rules"] = [{**rule, "ports": "0"}]
    exchange = Exchange("POST", "/v2/firewalls", {}, json.dumps(body).encode(), 202, json.dumps(answer).encode())
    assert openapi_check.problems(exchange, tolerate_known_clients=True) == []
    [strict] = openapi_check.problems(exchange)
    assert "['outbound_rules', 0]: 'ports' is a required property" in strict
    # Another mismatch in the same request is not tolerated.
    renamed = Exchange("POST", "/v2/firewalls", {}, json.dumps({**body, "name": "f"}).encode(), 202, json.dumps(answer).encode())
    assert len(openapi_check.problems(renamed, tolerate_known_clients=True)) == 1


def test_each_repair_of_the_bundled_document_is_what_the_original_files_say() -> None:
    counts = repair(load_description())
    assert counts == {"file discriminators": 10, "yaml booleans in enums": counts["yaml booleans in enums"], "readOnly parameters": counts["readOnly parameters"]}
    assert counts["yaml booleans in enums"] >= 1 and counts["readOnly parameters"] >= 1
    # The discriminators point at files the bundle inlined: they are there in the originals.
    assert "mapping:\n            enable_backups: 'models/droplet_actions.yml#/droplet_action_enable_backups'" in (SPECIFICATION / "resources/droplets/dropletActions_post.yml").read_text()
    # A droplet's status `off`, which YAML 1.1 reads as false.
    assert "- off" in (SPECIFICATION / "resources/droplets/models/droplet.yml").read_text()


@pytest.mark.slow
def test_the_bundled_description_is_valid_openapi_3() -> None:
    from openapi_spec_validator import validate

    started = time.monotonic()
    validate(load_description())  # raises on an invalid document
    print(f"openapi-spec-validator: {time.monotonic() - started:.1f} s")
