"""AppFleet built with explicit args: droplets, their options and user-data, and the fleet firewall."""

from __future__ import annotations

import pulumi
import pytest
import yaml
from conftest import COMMAND, DROPLET, FIREWALL

from components.common.cloud_init import DATABASE_CA_PATH, ENV_FILE_PATH
from components.common.rollout import RolloutStrategy
from components.digitalocean.app_fleet import AppFleet, AppFleetArgs, DatabaseConnection
from components.health_gate import GateSettings
from offline.harness import MOCK_DATABASE_CA, run_under_mocks


def fleet_args(**changes) -> AppFleetArgs:
    values = dict(
        app_name="shop",
        stack="qa",
        app_version="2.0.1",
        source_hash="0123456789ab",
        image_id="98765",
        count=3,
        size="s-2vcpu-4gb",
        region="fra1",
        vpc_id="vpc-1",
        fleet_tag="shop-qa-fleet",
        load_balancer_id="lb-1",
        app_port=9000,
        database=DatabaseConnection(
            host="db.internal",
            port=25060,
            name="shop",
            user="shop",
            password=pulumi.Output.secret("pw-123"),
            ca_certificate=MOCK_DATABASE_CA,
            migration_user="doadmin",
            migration_password=pulumi.Output.secret("admin-pw-456"),
        ),
        app_secret=pulumi.Output.secret("s3cret"),
        drain_seconds=20,
        gate=GateSettings(url="http://198.51.100.7/healthz", timeout_seconds=300),
        env={"LOG_LEVEL": "warn"},
        tags=["app:shop"],
    )
    values.update(changes)
    return AppFleetArgs(**values)


def build(**changes):
    return run_under_mocks(lambda: AppFleet("web", fleet_args(**changes)))


def test_fleet_creates_count_droplets_from_the_image():
    run = build()
    droplets = run.of_type(DROPLET)
    assert [d.name for d in droplets] == ["web-0", "web-1", "web-2"]
    for index, droplet in enumerate(droplets):
        assert droplet.inputs["image"] == "98765", droplet.name
        assert droplet.inputs["name"] == f"shop-qa-2-0-1-012345-{index}"
        assert droplet.inputs["region"] == "fra1" and droplet.inputs["size"] == "s-2vcpu-4gb" and droplet.inputs["vpcUuid"] == "vpc-1"
        assert droplet.inputs["tags"] == ["shop-qa-fleet", "app:shop"]
        assert droplet.parent_name == "web"


def test_every_droplet_is_replaced_never_patched():
    for droplet in build().of_type(DROPLET):
        # Any change, size, name and tags included (the provider updates those in place).
        assert droplet.options["replace_on_changes"] == ["*"], droplet.name
        assert droplet.options["delete_before_replace"] is False, droplet.name
        assert droplet.options["custom_timeouts"] == {"create": "15m", "delete": "10m"}
        assert droplet.inputs["gracefulShutdown"] is True and droplet.inputs["monitoring"] is False, droplet.name


def gate_commands(run):
    return {r.name: r for r in run.of_type(COMMAND)}


def test_all_at_once_is_one_wave_gated_on_every_new_droplet_id():
    run = build()
    droplets = run.of_type(DROPLET)
    (gate,) = gate_commands(run).values()
    ids = ",".join(str(d.id) for d in droplets)
    assert f"--expect-instances {ids}" in gate.inputs["create"], gate.inputs["create"]
    assert "--url http://198.51.100.7/healthz" in gate.inputs["create"] and "--expect-version 2.0.1" in gate.inputs["create"]
    assert {d.urn for d in droplets} <= set(gate.options["dependencies"])
    assert all(not set(d.options["dependencies"]) & {gate.urn} for d in droplets)


def test_canary_creates_the_rest_only_after_the_canary_gate():
    run = build(rollout=RolloutStrategy.CANARY)
    droplets = {d.name: d for d in run.of_type(DROPLET)}
    gates = gate_commands(run)
    assert sorted(gates) == ["web-gate-0-wait", "web-gate-1-wait"]
    first, second = gates["web-gate-0-wait"], gates["web-gate-1-wait"]
    assert f"--expect-instances {droplets['web-0'].id} " in first.inputs["create"]
    assert f"--expect-instances {droplets['web-1'].id},{droplets['web-2'].id} " in second.inputs["create"]
    assert first.urn not in droplets["web-0"].options["dependencies"]
    for name in ("web-1", "web-2"):
        assert first.urn in droplets[name].options["dependencies"], f"{name} must wait for the canary's gate"


def test_batches_chain_each_wave_to_the_previous_gate():
    run = build(rollout=RolloutStrategy.BATCHES, batch_size=2)
    droplets = {d.name: d for d in run.of_type(DROPLET)}
    gates = gate_commands(run)
    assert sorted(gates) == ["web-gate-0-wait", "web-gate-1-wait"]
    assert gates["web-gate-0-wait"].urn in droplets["web-2"].options["dependencies"]
    assert not {g.urn for g in gates.values()} & set(droplets["web-1"].options["dependencies"])


def test_user_data_is_secret_and_carries_connection_and_env():
    droplet = build().of_type(DROPLET)[0]
    assert "userData" in droplet.secret_inputs
    text = droplet.inputs["userData"]
    for line in (
        'DATABASE_HOST="db.internal"',
        'DATABASE_PORT="25060"',
        'DATABASE_PASSWORD="pw-123"',
        'APP_PORT="9000"',
        'APP_ENV="qa"',
        'LOG_LEVEL="warn"',
        'APP_SECRET="s3cret"',
        'APP_DRAIN_SECONDS="20"',
    ):
        assert line in text, line


def test_user_data_writes_the_ca_it_was_given_and_verifies_the_database_with_it():
    document = yaml.safe_load(build().of_type(DROPLET)[0].inputs["userData"])
    files = {entry["path"]: entry for entry in document["write_files"]}
    assert files[DATABASE_CA_PATH]["content"] == MOCK_DATABASE_CA
    env = files[ENV_FILE_PATH]["content"]
    assert 'DATABASE_SSLMODE="verify-full"' in env and f'DATABASE_SSLROOTCERT="{DATABASE_CA_PATH}"' in env


def test_firewall_closes_ssh_by_default_and_opens_app_port_to_the_balancer_only():
    firewall = build().of_type(FIREWALL)[0]
    assert firewall.inputs["inboundRules"] == [{"protocol": "tcp", "portRange": "9000", "sourceLoadBalancerUids": ["lb-1"]}]
    assert firewall.inputs["tags"] == ["shop-qa-fleet"]


@pytest.mark.parametrize("cidrs", [["198.51.100.0/24"], ["198.51.100.0/24", "2001:db8::/32"]])
def test_firewall_opens_ssh_to_the_allow_list(cidrs):
    firewall = build(ssh_allow_cidrs=cidrs, ssh_keys=["1"]).of_type(FIREWALL)[0]
    assert {"protocol": "tcp", "portRange": "22", "sourceAddresses": cidrs} in firewall.inputs["inboundRules"]


def test_user_data_carries_the_previous_app_secret_only_when_set_and_stays_secret():
    assert not any("APP_SECRET_PREVIOUS" in droplet.inputs["userData"] for droplet in build().of_type(DROPLET)), "no rotation under way: no line"
    for droplet in build(app_secret_previous=pulumi.Output.secret("old-s3cret")).of_type(DROPLET):
        assert "userData" in droplet.secret_inputs, droplet.name
        env = next(entry["content"] for entry in yaml.safe_load(droplet.inputs["userData"])["write_files"] if entry["path"] == ENV_FILE_PATH)
        assert 'APP_SECRET="s3cret"\nAPP_SECRET_PREVIOUS="old-s3cret"\n' in env, droplet.name
