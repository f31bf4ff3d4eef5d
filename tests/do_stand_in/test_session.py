"""A scripted session through every endpoint the stand-in implements, each exchange checked against DigitalOcean's OpenAPI description.

The oracle is DigitalOcean's published description (``openapi_check``), not the stand-in's
own idea of its answers: every request it accepted and every answer it gave must validate,
and the session must reach every route the stand-in has (a new route without a step here fails).
"""

from __future__ import annotations

import base64

from do_stand_in_harness import Client, RecordingStandIn, invalid_exchanges

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGKq3m2kq8Kx8uQ1+X6zq9b4hVZ0p9Yp0pS7Yb5y6Jz1 operator"


def run_session(client: Client) -> None:
    """What the program's stacks and Packer do, and the rest of each area (list, update, delete)."""
    expect = client.expect
    expect(200, "GET", "/v2/account")
    expect(200, "GET", "/v2/regions")
    expect(200, "GET", "/v2/sizes?per_page=2&page=2")
    expect(200, "GET", "/v2/projects")
    expect(200, "GET", "/v2/projects/default")

    key = expect(201, "POST", "/v2/account/keys", {"name": "operator", "public_key": PUBLIC_KEY})["ssh_key"]
    expect(200, "GET", f"/v2/account/keys/{key['fingerprint']}")
    expect(200, "PUT", f"/v2/account/keys/{key['id']}", {"name": "operator-renamed"})
    expect(200, "GET", "/v2/account/keys")

    vpc = expect(201, "POST", "/v2/vpcs", {"name": "hello-staging-vpc", "region": "nyc3", "description": "hello staging"})["vpc"]
    expect(200, "GET", f"/v2/vpcs/{vpc['id']}")
    expect(200, "PATCH", f"/v2/vpcs/{vpc['id']}", {"description": "patched"})
    expect(200, "PUT", f"/v2/vpcs/{vpc['id']}", {"name": "hello-staging-vpc", "description": "put"})
    expect(200, "GET", "/v2/vpcs")
    expect(201, "POST", "/v2/tags", {"name": "hello-staging-fleet"})
    expect(200, "GET", "/v2/tags/hello-staging-fleet")

    cluster = expect(
        201,
        "POST",
        "/v2/databases",
        {"name": "hello-db", "engine": "pg", "version": "16", "size": "db-s-1vcpu-1gb", "num_nodes": 1, "region": "nyc3", "private_network_uuid": vpc["id"], "tags": ["team:web"]},
    )["database"]
    base = f"/v2/databases/{cluster['id']}"
    assert expect(200, "GET", base)["database"]["status"] == "online"
    expect(201, "POST", base + "/dbs", {"name": "hello"})
    expect(200, "GET", base + "/dbs/hello")
    expect(200, "GET", base + "/dbs")
    user = expect(201, "POST", base + "/users", {"name": "hello"})["user"]
    assert user["password"]
    expect(200, "GET", base + "/users/hello")
    expect(200, "GET", base + "/users")
    expect(200, "POST", base + "/users/hello/reset_auth", {})
    expect(204, "PUT", base + "/firewall", {"rules": [{"type": "tag", "value": "hello-staging-fleet"}]})
    assert expect(200, "GET", base + "/firewall")["rules"][0]["value"] == "hello-staging-fleet"
    assert base64.b64decode(expect(200, "GET", base + "/ca")["ca"]["certificate"]).startswith(b"-----BEGIN CERTIFICATE-----")
    expect(200, "GET", "/v2/databases")

    expect(201, "POST", "/v2/domains", {"name": "example.com"})
    expect(200, "GET", "/v2/domains/example.com")
    expect(200, "GET", "/v2/domains")
    certificate = expect(201, "POST", "/v2/certificates", {"name": "hello-cert", "type": "lets_encrypt", "dns_names": ["www.example.com"]})["certificate"]
    assert expect(200, "GET", f"/v2/certificates/{certificate['id']}")["certificate"]["state"] == "verified"
    expect(200, "GET", "/v2/certificates?name=hello-cert")
    balancer = expect(
        202,
        "POST",
        "/v2/load_balancers",
        {
            "name": "hello-lb",
            "region": "nyc3",
            "size_unit": 1,
            "vpc_uuid": vpc["id"],
            "tag": "hello-staging-fleet",
            "forwarding_rules": [
                {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080},
                {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http", "target_port": 8080, "certificate_name": "hello-cert"},
            ],
            "health_check": {"protocol": "http", "port": 8080, "path": "/readyz", "check_interval_seconds": 5, "response_timeout_seconds": 3, "healthy_threshold": 2, "unhealthy_threshold": 3},
            "redirect_http_to_https": True,
            "disable_lets_encrypt_dns_records": True,
        },
    )["load_balancer"]
    active = expect(200, "GET", f"/v2/load_balancers/{balancer['id']}")["load_balancer"]
    assert active["status"] == "active" and active["ip"]
    record = expect(201, "POST", "/v2/domains/example.com/records", {"type": "A", "name": "www", "data": active["ip"], "ttl": 60})["domain_record"]
    expect(200, "GET", f"/v2/domains/example.com/records/{record['id']}")
    expect(200, "PUT", f"/v2/domains/example.com/records/{record['id']}", {"type": "A", "name": "www", "data": active["ip"], "ttl": 120})
    expect(200, "PATCH", f"/v2/domains/example.com/records/{record['id']}", {"type": "A", "ttl": 90})
    expect(200, "GET", "/v2/domains/example.com/records?type=A&name=www.example.com")

    created = expect(
        202,
        "POST",
        "/v2/droplets",
        {
            "name": "hello-staging-1-4-2-abcdef-0",
            "region": "nyc3",
            "size": "s-1vcpu-1gb",
            "image": "debian-12-x64",
            "vpc_uuid": vpc["id"],
            "tags": ["hello-staging-fleet", "team:web"],
            "ssh_keys": [key["fingerprint"]],
            "user_data": "#cloud-config\n",
            "monitoring": False,
        },
    )
    droplet_id = created["droplet"]["id"]
    expect(202, "POST", "/v2/droplets", {"names": ["spare-0", "spare-1"], "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "tags": ["spare"]})
    assert expect(200, "GET", f"/v2/droplets/{droplet_id}")["droplet"]["status"] == "active"
    assert [droplet["id"] for droplet in expect(200, "GET", "/v2/droplets?tag_name=hello-staging-fleet")["droplets"]] == [droplet_id]
    assert expect(200, "GET", f"/v2/load_balancers/{balancer['id']}")["load_balancer"]["droplet_ids"] == [droplet_id]
    expect(200, "GET", "/v2/load_balancers")
    lb_update = {name: active[name] for name in ("name", "forwarding_rules", "health_check", "tag", "vpc_uuid")}
    expect(200, "PUT", f"/v2/load_balancers/{balancer['id']}", {**lb_update, "region": "nyc3"})

    firewall = expect(
        202,
        "POST",
        "/v2/firewalls",
        {
            "name": "hello-fleet-firewall",
            "tags": ["hello-staging-fleet"],
            "inbound_rules": [{"protocol": "tcp", "ports": "8080", "sources": {"load_balancer_uids": [balancer["id"]]}}],
            "outbound_rules": [
                {"protocol": "tcp", "ports": "1-65535", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}},
                {"protocol": "icmp", "ports": "0", "destinations": {"addresses": ["0.0.0.0/0", "::/0"]}},
            ],
        },
    )["firewall"]
    path = f"/v2/firewalls/{firewall['id']}"
    assert expect(200, "GET", path)["firewall"]["status"] == "succeeded"
    rule = {"inbound_rules": [{"protocol": "tcp", "ports": "22", "sources": {"addresses": ["192.0.2.0/24"]}}]}
    expect(204, "POST", path + "/rules", rule)
    expect(204, "DELETE", path + "/rules", rule)
    expect(204, "POST", path + "/droplets", {"droplet_ids": [droplet_id]})
    expect(204, "DELETE", path + "/droplets", {"droplet_ids": [droplet_id]})
    expect(204, "POST", path + "/tags", {"tags": ["team:web"]})
    expect(204, "DELETE", path + "/tags", {"tags": ["team:web"]})
    current = expect(200, "GET", path)["firewall"]
    expect(200, "PUT", path, {name: current[name] for name in ("name", "inbound_rules", "outbound_rules", "tags")})
    expect(200, "GET", "/v2/firewalls")

    # Packer's part: shut down, power off, snapshot, transfer, then the image lists.
    actions = f"/v2/droplets/{droplet_id}/actions"
    shutdown = expect(201, "POST", actions, {"type": "shutdown"})["action"]
    assert expect(200, "GET", f"{actions}/{shutdown['id']}")["action"]["status"] == "completed"
    assert expect(200, "GET", f"/v2/droplets/{droplet_id}")["droplet"]["status"] == "off"
    expect(201, "POST", actions, {"type": "power_off"})
    snapshot = expect(201, "POST", actions, {"type": "snapshot", "name": "hello-1.4.2-0123456789ab"})["action"]
    expect(200, "GET", f"/v2/actions/{snapshot['id']}")
    expect(200, "GET", "/v2/actions")
    expect(200, "GET", actions)
    image = expect(200, "GET", f"/v2/droplets/{droplet_id}/snapshots")["snapshots"][0]
    transfer = expect(201, "POST", f"/v2/images/{image['id']}/actions", {"type": "transfer", "region": "sfo3"})["action"]
    expect(200, "GET", f"/v2/images/{image['id']}/actions/{transfer['id']}")
    expect(200, "GET", f"/v2/images/{image['id']}/actions")
    assert expect(200, "GET", f"/v2/images/{image['id']}")["image"]["regions"] == ["nyc3", "sfo3"]
    expect(200, "PUT", f"/v2/images/{image['id']}", {"description": "hello 1.4.2"})
    assert [found["name"] for found in expect(200, "GET", "/v2/images?private=true")["images"]] == ["hello-1.4.2-0123456789ab"]
    assert expect(200, "GET", "/v2/images/debian-12-x64")["image"]["public"]
    assert expect(200, "GET", "/v2/snapshots?resource_type=droplet")["snapshots"][0]["resource_id"] == str(droplet_id)
    expect(200, "GET", f"/v2/snapshots/{image['id']}")
    expect(201, "POST", actions, {"type": "power_on"})
    expect(201, "POST", actions, {"type": "power_off"})
    expect(201, "POST", actions, {"type": "resize", "size": "s-1vcpu-2gb", "disk": False})
    expect(201, "POST", actions, {"type": "rebuild", "image": image["id"]})
    expect(201, "POST", actions, {"type": "rename", "name": "renamed"})

    # Tagging, then everything away again (the order `pulumi destroy` takes).
    expect(204, "POST", "/v2/tags/team:web/resources", {"resources": [{"resource_id": str(droplet_id), "resource_type": "droplet"}]})
    expect(204, "DELETE", "/v2/tags/team:web/resources", {"resources": [{"resource_id": str(droplet_id), "resource_type": "droplet"}]})
    expect(200, "GET", "/v2/tags")
    expect(204, "DELETE", "/v2/droplets?tag_name=spare")
    expect(204, "DELETE", f"/v2/droplets/{droplet_id}")
    expect(204, "DELETE", f"/v2/snapshots/{image['id']}")
    second = expect(200, "GET", "/v2/images?private=true")["images"]
    assert second == []
    expect(204, "DELETE", path)
    expect(204, "DELETE", f"/v2/domains/example.com/records/{record['id']}")
    expect(204, "DELETE", f"/v2/load_balancers/{balancer['id']}")
    expect(204, "DELETE", f"/v2/certificates/{certificate['id']}")
    expect(204, "DELETE", "/v2/domains/example.com")
    expect(204, "DELETE", base + "/users/hello")
    expect(204, "DELETE", base + "/dbs/hello")
    expect(204, "DELETE", base)
    expect(204, "DELETE", "/v2/tags/hello-staging-fleet")
    expect(200, "GET", f"/v2/vpcs/{vpc['id']}/members")
    expect(204, "DELETE", f"/v2/vpcs/{vpc['id']}")
    expect(204, "DELETE", f"/v2/account/keys/{key['id']}")
    registered = client.expect(201, "POST", "/_stand_in/images", {"name": "hello-1.4.2-3f5ca7d2224a", "regions": ["nyc3"]})["image"]
    expect(204, "DELETE", f"/v2/images/{registered['id']}")
    client.expect(200, "GET", "/_stand_in/health")


def test_every_exchange_of_a_session_validates_against_digitaloceans_description(stand_in: RecordingStandIn, client: Client, openapi_check) -> None:
    run_session(client)
    checked = [exchange for exchange in stand_in.exchanges if not exchange.path.startswith("/_stand_in/")]
    assert len(checked) > 100
    assert invalid_exchanges(openapi_check, checked) == []


def test_the_session_reaches_every_route_the_stand_in_implements(stand_in: RecordingStandIn, client: Client) -> None:
    run_session(client)
    reached = {(entry["method"], entry["route"]) for entry in stand_in.log_entries() if "route" in entry and entry["status"] < 400}
    implemented = {(route.method, route.pattern) for route in stand_in.router.routes + stand_in.admin.routes}
    assert sorted(implemented - reached) == []
