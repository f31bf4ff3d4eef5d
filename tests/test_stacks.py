"""The real program with the real stack files: what staging and prod create, and how."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml
from conftest import CERTIFICATE, COMMAND, DB_CLUSTER, DB_FIREWALL, DNS_RECORD, DOMAIN, DROPLET, FIREWALL, LOAD_BALANCER, packer_runs

from offline.harness import MOCK_DB_PASSWORD_PREFIX, TEST_SECRET_PREFIX, harness_secret, run_program


def type_counts(run) -> Counter:
    return Counter(r.type for r in run.resources)


def test_staging_creates_the_full_stack(staging):
    assert type_counts(staging) == Counter(
        {
            "immutable-web:network:Network": 1,
            "digitalocean:index/vpc:Vpc": 1,
            "digitalocean:index/tag:Tag": 1,
            "immutable-web:image:ImageBuild": 2,
            COMMAND: 5,  # base and app: bake, copy to regions; health gate
            "immutable-web:db:Database": 1,
            DB_CLUSTER: 1,
            "digitalocean:index/databaseDb:DatabaseDb": 1,
            "digitalocean:index/databaseUser:DatabaseUser": 1,
            DB_FIREWALL: 1,
            "immutable-web:lb:LoadBalancer": 1,
            LOAD_BALANCER: 1,
            "immutable-web:fleet:AppFleet": 1,
            DROPLET: 2,
            FIREWALL: 1,
            "immutable-web:gate:HealthGate": 1,
        }
    )


def test_prod_creates_the_full_stack_and_never_bakes(prod):
    counts = type_counts(prod)
    assert counts[DROPLET] == 3
    assert counts["immutable-web:image:ImageBuild"] == 0
    assert counts["immutable-web:image:PromotedImage"] == 1
    assert packer_runs(prod) == [], "prod must promote staging's image, never run Packer"
    assert counts[CERTIFICATE] == 1 and counts[DNS_RECORD] == 1
    assert counts[COMMAND] == 1  # only the health gate


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_child_is_parented_to_its_component(stack, staging, prod):
    run = {"staging": staging, "prod": prod}[stack]
    components = {r.urn: r for r in run.resources if not r.custom}
    for resource in run.resources:
        if resource.custom:
            assert resource.parent in components, f"{resource.name} ({resource.type}) is not parented to a component"
            component = components[resource.parent]
            assert resource.name.startswith(component.name + "-"), f"{resource.name} is not named from its component {component.name}"


def test_every_droplet_boots_the_baked_image(staging):
    app_bake = staging.named("app-image-packer")
    baked_id = staging.outputs["imageId"]
    assert baked_id and baked_id in app_bake.outputs["stdout"]
    for droplet in staging.of_type(DROPLET):
        assert droplet.inputs["image"] == baked_id, droplet.name


def test_prod_droplets_boot_the_promoted_image_by_its_pinned_name(prod):
    pinned = prod.config["immutable-web:imageSourceHash"]
    assert prod.outputs["imageName"] == f"hello-staging-1.4.2-{pinned}"
    for droplet in prod.of_type(DROPLET):
        assert droplet.inputs["image"] == prod.outputs["imageId"], droplet.name


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_droplets_are_replaced_create_before_destroy(stack, staging, prod):
    run = {"staging": staging, "prod": prod}[stack]
    for droplet in run.of_type(DROPLET):
        options = droplet.options
        assert options["replace_on_changes"] == ["*"], droplet.name
        assert options["delete_before_replace"] is False, droplet.name
        assert options["protect"] is False, droplet.name


def test_droplet_names_carry_the_image_generation(staging):
    names = [d.inputs["name"] for d in staging.of_type(DROPLET)]
    source = staging.outputs["imageSourceHash"][:6]
    assert names == [f"hello-staging-1-4-2-{source}-0", f"hello-staging-1-4-2-{source}-1"]
    assert staging.outputs["dropletNames"] == names


def test_bake_commands_use_packer_with_the_content_hash_as_trigger(staging):
    base, app = staging.named("base-image-packer"), staging.named("app-image-packer")
    assert "-only=digitalocean.base" in base.inputs["create"] and "images/base" in base.inputs["create"]
    assert "-only=digitalocean.app" in app.inputs["create"] and "-machine-readable" in app.inputs["create"]
    source_hash = staging.outputs["imageSourceHash"]
    assert source_hash in app.inputs["triggers"]
    env = app.inputs["environment"]
    assert env["PKR_VAR_image_name"] == f"hello-staging-1.4.2-{source_hash}" == staging.outputs["imageName"]
    assert env["PKR_VAR_app_version"] == "1.4.2"
    assert env["PKR_VAR_base_image"] in base.outputs["stdout"], "the app layer must build on the base layer's snapshot"
    assert json.loads(env["PKR_VAR_snapshot_regions"]) == ["nyc3"]
    assert app.options["custom_timeouts"]["create"] == "60m"


def test_snapshots_are_copied_to_every_region_a_promoting_stack_needs(run_with):
    run = run_with("staging", {"imageCopyRegions": ["ams3", "fra1"]})
    for bake in ("base-image-packer", "app-image-packer"):
        env = run.named(bake).inputs["environment"]
        assert json.loads(env["PKR_VAR_snapshot_regions"]) == ["nyc3", "ams3", "fra1"], bake


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_user_data_is_a_secret_that_carries_the_database_credentials(stack, staging, prod):
    run = {"staging": staging, "prod": prod}[stack]
    user = run.of_type("digitalocean:index/databaseUser:DatabaseUser")[0]
    cluster = run.of_type(DB_CLUSTER)[0]
    for droplet in run.of_type(DROPLET):
        assert "userData" in droplet.secret_inputs, f"{droplet.name}: user-data must be a secret"
        assert "userData" in droplet.options["additional_secret_outputs"], droplet.name
        user_data = droplet.inputs["userData"]
        assert f'DATABASE_PASSWORD="{user.outputs["password"]}"' in user_data
        assert f'DATABASE_HOST="{cluster.outputs["privateHost"]}"' in user_data
        assert 'DATABASE_SSLMODE="verify-full"' in user_data and 'DATABASE_SSLROOTCERT="/etc/webapp/database-ca.crt"' in user_data
        assert f'APP_SECRET="{harness_secret("appSecret")}"' in user_data
        assert f'APP_ENV="{stack}"' in user_data
        # The app's schema is doadmin's (the database is): the migrations run as the cluster's admin, from a
        # file of its own that the app's unit never loads.
        files = {entry["path"]: entry["content"] for entry in yaml.safe_load(user_data)["write_files"]}
        assert f'DATABASE_MIGRATION_USER="{cluster.outputs["user"]}"' in files["/etc/webapp/migration.env"] and cluster.outputs["user"] == "doadmin"
        assert 'DATABASE_MIGRATION_PASSWORD="mock-admin-password-' in files["/etc/webapp/migration.env"]
        assert "mock-admin-password-" not in files["/etc/webapp/app.env"] and "DATABASE_MIGRATION" not in files["/etc/webapp/app.env"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_outputs_hold_no_secret_in_plain_text(stack, staging, prod):
    run = {"staging": staging, "prod": prod}[stack]
    text = json.dumps(run.outputs)
    assert MOCK_DB_PASSWORD_PREFIX not in text and TEST_SECRET_PREFIX not in text and "mock-admin-password" not in text
    # What the image it bakes migrates to, and what that image is made of (a promoting stack runs the baking stack's image).
    baked = {"schemaRevision", "patchLevel", "packageManifestSha256"} if stack == "staging" else set()
    assert set(run.outputs) == {"url", "loadBalancerIp", "imageId", "imageName", "imageSourceHash", "appVersion", "logShipping", "dropletNames", "dropletIds", "databaseHost", *baked}


def test_fleet_firewall_opens_the_app_only_to_the_load_balancer(staging):
    firewall = staging.of_type(FIREWALL)[0]
    balancer = staging.of_type(LOAD_BALANCER)[0]
    assert firewall.inputs["tags"] == ["fleet:hello:staging"]
    assert firewall.inputs["inboundRules"] == [{"protocol": "tcp", "portRange": "8080", "sourceLoadBalancerUids": [balancer.id]}]
    assert {r["protocol"] for r in firewall.inputs["outboundRules"]} == {"tcp", "udp", "icmp"}


def test_ssh_opens_only_to_the_allow_list():
    run = run_program("staging", config_overrides={"sshAllowCidrs": ["203.0.113.7/32"], "sshKeys": ["12345678"]})
    rules = run.of_type(FIREWALL)[0].inputs["inboundRules"]
    assert {"protocol": "tcp", "portRange": "22", "sourceAddresses": ["203.0.113.7/32"]} in rules
    assert all(d.inputs["sshKeys"] == ["12345678"] for d in run.of_type(DROPLET))


def test_database_trusts_only_the_fleet_tag_and_lives_in_the_vpc(staging):
    rules = staging.of_type(DB_FIREWALL)[0].inputs["rules"]
    assert rules == [{"type": "tag", "value": "fleet:hello:staging"}]
    cluster = staging.of_type(DB_CLUSTER)[0]
    vpc = staging.of_type("digitalocean:index/vpc:Vpc")[0]
    assert cluster.inputs["privateNetworkUuid"] == vpc.id
    assert cluster.inputs["engine"] == "pg" and cluster.inputs["version"] == "16"


def test_prod_database_is_protected_and_highly_available(prod, staging):
    cluster = prod.of_type(DB_CLUSTER)[0]
    assert cluster.options["protect"] is True
    assert cluster.inputs["nodeCount"] == 2
    assert prod.of_type("digitalocean:index/databaseDb:DatabaseDb")[0].options["protect"] is True
    assert staging.of_type(DB_CLUSTER)[0].options["protect"] is False


def test_load_balancer_health_checks_the_app(staging):
    balancer = staging.of_type(LOAD_BALANCER)[0]
    check = balancer.inputs["healthcheck"]
    # Readiness, not the deep check: a database blip must not empty the pool (components/common/serving.py).
    assert check["protocol"] == "http" and check["port"] == 8080 and check["path"] == "/readyz"
    assert check["healthyThreshold"] >= 2 and check["unhealthyThreshold"] >= 2
    assert balancer.inputs["dropletTag"] == "fleet:hello:staging"
    assert balancer.inputs["forwardingRules"] == [{"entryPort": 80, "entryProtocol": "http", "targetPort": 8080, "targetProtocol": "http"}]
    assert balancer.inputs["redirectHttpToHttps"] is False


def test_prod_serves_https_with_a_lets_encrypt_certificate_and_redirects_http(prod):
    certificate = prod.of_type(CERTIFICATE)[0]
    assert certificate.inputs["type"] == "lets_encrypt" and certificate.inputs["domains"] == ["www.example.com"]
    balancer = prod.of_type(LOAD_BALANCER)[0]
    https = [r for r in balancer.inputs["forwardingRules"] if r["entryProtocol"] == "https"]
    assert https == [{"entryPort": 443, "entryProtocol": "https", "targetPort": 8080, "targetProtocol": "http", "certificateName": certificate.outputs["name"]}]
    assert balancer.inputs["redirectHttpToHttps"] is True


def test_dns_points_the_app_name_at_the_load_balancer(prod):
    record = prod.of_type(DNS_RECORD)[0]
    balancer = prod.of_type(LOAD_BALANCER)[0]
    assert record.inputs == {"domain": "example.com", "type": "A", "name": "www", "value": balancer.outputs["ip"], "ttl": 60}
    assert prod.outputs["url"] == "https://www.example.com"


def test_managed_domain_zone_is_protected(run_with):
    run = run_with("prod", {"manageDomain": True})
    zone = run.of_type(DOMAIN)[0]
    assert zone.inputs["name"] == "example.com" and zone.options["protect"] is True


def test_managed_domain_zone_exists_before_the_certificate_and_the_record(run_with):
    run = run_with("prod", {"manageDomain": True})
    [zone] = run.of_type(DOMAIN)
    for resource in run.of_type(CERTIFICATE) + run.of_type(DNS_RECORD):
        assert zone.urn in resource.options["dependencies"], f"{resource.name} must wait for the zone {zone.name}"


def test_an_existing_zone_leaves_the_certificate_and_the_record_waiting_for_nothing_new(prod):
    assert prod.of_type(DOMAIN) == []
    certificate, record = prod.of_type(CERTIFICATE)[0], prod.of_type(DNS_RECORD)[0]
    assert certificate.options["dependencies"] == [], certificate.name
    assert record.options["dependencies"] == [prod.of_type(LOAD_BALANCER)[0].urn], record.name


def test_health_gate_waits_for_every_new_droplet_id_through_the_load_balancer(staging, prod):
    gate = staging.named("fleet-gate-0-wait")
    command = gate.inputs["create"]
    ip = staging.outputs["loadBalancerIp"]
    assert f"--url http://{ip}/healthz" in command
    assert "--expect-version 1.4.2" in command
    droplet_ids = [d.id for d in staging.of_type(DROPLET)]
    assert "--expect-instances " + ",".join(droplet_ids) + " " in command and staging.outputs["dropletIds"] == droplet_ids
    assert "--timeout 600" in command
    assert sorted(gate.inputs["triggers"][0]) == sorted(droplet_ids)
    prod_gate = prod.named("fleet-gate-0-wait").inputs["create"]
    assert "--url https://www.example.com/healthz" in prod_gate and f"--resolve www.example.com:{prod.outputs['loadBalancerIp']}" in prod_gate


def test_tags_reach_every_taggable_resource(staging):
    for resource in staging.of_type(DROPLET) + staging.of_type(DB_CLUSTER):
        assert {"app:hello", "stack:staging", "managed-by:pulumi", "team:web"} <= set(resource.inputs["tags"]), resource.name


def test_two_runs_register_identical_resources():
    first, second = run_program("staging"), run_program("staging")
    assert [(r.urn, r.inputs, r.options) for r in first.resources] == [(r.urn, r.inputs, r.options) for r in second.resources]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_no_input_depends_on_where_the_checkout_lives(stack, staging, prod):
    """An absolute path in state would differ between a laptop and CI and re-run Packer on every `pulumi up`."""
    from offline.harness import PROJECT_DIR

    run = {"staging": staging, "prod": prod}[stack]
    for resource in run.resources:
        assert str(PROJECT_DIR) not in json.dumps(resource.inputs), resource.name


def test_new_droplets_join_the_pool_by_their_tag_before_their_gate_runs(staging):
    """What a failed gate leaves (docs/security.md, "A failed gate"): the pool is every droplet with the fleet tag, and a new droplet
    carries it from its creation, while the gate runs only after the droplet exists. So a new droplet that passes readiness serves
    before, and whatever, its gate decides; only readiness keeps a bad one out. This pins that behaviour: change it, change the page."""
    balancer = staging.of_type(LOAD_BALANCER)[0]
    gate = staging.named("fleet-gate-0-wait")
    for droplet in staging.of_type(DROPLET):
        assert balancer.inputs["dropletTag"] in droplet.inputs["tags"], f"{droplet.name} is in the pool from its creation"
        assert droplet.urn in gate.options["dependencies"], f"the gate runs after {droplet.name} exists (and is in the pool)"
    assert balancer.inputs["healthcheck"]["path"] == "/readyz", "readiness, not the gate, decides who takes traffic"
