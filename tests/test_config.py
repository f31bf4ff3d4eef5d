"""A wrong stack config stops the program before any resource is registered, naming the key and what is allowed."""

from __future__ import annotations

import pulumi
import pytest

from components.config import KEYS, ConfigError
from offline.harness import project_file, run_program


def config_error(stack: str = "staging", **overrides) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        run_program(stack, config_overrides=overrides)
    assert caught.value.registered_resources == [], "a resource was registered before the config was validated"
    return caught.value


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        ({"region": "mars1"}, "immutable-web:region", "nyc3"),
        ({"region": None}, "immutable-web:region", "is required"),
        ({"cloud": "gcp"}, "immutable-web:cloud", "digitalocean"),
        ({"cloud": "aws"}, "immutable-web:cloud", "allowed now: digitalocean"),
        ({"dropletSize": "huge"}, "immutable-web:dropletSize", "s-1vcpu-1gb"),
        ({"dbSize": "s-1vcpu-1gb"}, "immutable-web:dbSize", "db-s-1vcpu-1gb"),
        ({"dbVersion": "9"}, "immutable-web:dbVersion", "13, 14, 15, 16, 17"),
        ({"dbNodeCount": 5}, "immutable-web:dbNodeCount", "from 1 to 3"),
        ({"fleetCount": 0}, "immutable-web:fleetCount", "from 1 to 1000"),
        ({"fleetCount": "two"}, "immutable-web:fleetCount", "whole number"),
        ({"appPort": 80}, "immutable-web:appPort", "from 1024 to 65535"),
        ({"appPort": 70000}, "immutable-web:appPort", "from 1024 to 65535"),
        ({"healthPath": "healthz"}, "immutable-web:healthPath", "absolute URL path"),
        ({"appVersion": "latest"}, "immutable-web:appVersion", "1.4.2"),
        ({"appVersion": None}, "immutable-web:appVersion", "is required"),
        ({"appName": "Hello_World"}, "immutable-web:appName", "lower-case"),
        ({"tls": True}, "immutable-web:tls", "needs `domain`"),
        ({"manageDomain": True}, "immutable-web:manageDomain", "needs `domain`"),
        ({"domain": "Not A Domain"}, "immutable-web:domain", "domain name"),
        ({"dnsTtl": 5}, "immutable-web:dnsTtl", "from 30 to 86400"),
        ({"dbProtect": "yes"}, "immutable-web:dbProtect", "true or false"),
        ({"imageMode": "rebuild"}, "immutable-web:imageMode", "bake, promote"),
        ({"imageMode": "promote"}, "immutable-web:imageSourceHash", "is required when imageMode is promote"),
        ({"imageSourceHash": "abcdefabcdef"}, "immutable-web:imageSourceHash", "only for imageMode promote"),
        ({"imageCopyRegions": ["nyc3", "moon"]}, "immutable-web:imageCopyRegions", "not a region"),
        ({"env": ["NOEQUALS"]}, "immutable-web:env", "NAME=value"),
        ({"env": ["lower=x"]}, "immutable-web:env", "not a valid name"),
        ({"env": ["DATABASE_HOST=elsewhere"]}, "immutable-web:env", "reserved"),
        ({"env": ["A=1", "A=2"]}, "immutable-web:env", "set twice"),
        ({"env": ["STRIPE_TOKEN=sk_live_x"]}, "immutable-web:env", "looks like a credential"),
        ({"env": "not-a-list"}, "immutable-web:env", "list of strings"),
        ({"sshAllowCidrs": ["0.0.0.0/0"], "sshKeys": ["12345"]}, "immutable-web:sshAllowCidrs", "whole internet"),
        ({"sshAllowCidrs": ["203.0.113.7/24"], "sshKeys": ["12345"]}, "immutable-web:sshAllowCidrs", "203.0.113.7/32"),
        ({"sshAllowCidrs": ["203.0.113.7/32"]}, "immutable-web:sshAllowCidrs", "sshKeys is empty"),
        ({"sshKeys": ["not a key"]}, "immutable-web:sshKeys", "fingerprint"),
        ({"tags": ["has space"]}, "immutable-web:tags", "DigitalOcean tag"),
        ({"healthGateTimeout": 5}, "immutable-web:healthGateTimeout", "from 60 to 3600"),
        ({"apPort": 8080}, "immutable-web:apPort", "allowed keys: "),
        ({"appSecret": None}, "immutable-web:appSecret", "pulumi config set --secret appSecret"),
        ({"appName": "a-very-long-app-name", "appVersion": "10.20.30-rc.123456789012345"}, "immutable-web:appName", "limit is 63"),
    ],
)
def test_bad_value_is_refused_naming_the_key_and_what_is_allowed(overrides, key, allowed):
    error = config_error(**overrides)
    matching = [p for p in error.problems if p.startswith(key + ":")]
    assert matching, f"no problem names {key}: {error.problems}"
    assert any(allowed in p for p in matching), f"{key}: expected {allowed!r} in {matching}"


def test_every_problem_is_reported_at_once():
    error = config_error(region="mars1", fleetCount=0, appPort=1)
    keys = {p.split(":")[1] for p in error.problems}
    assert {"region", "fleetCount", "appPort"} <= keys


def test_promote_mode_errors_are_specific_to_prod():
    error = config_error("prod", imageSourceHash="XYZ")
    assert any("12 lower-case hex digits" in p for p in error.problems)
    error = config_error("prod", imageCopyRegions=["ams3"])
    assert any(p.startswith("immutable-web:imageCopyRegions:") for p in error.problems)


def test_promoting_an_image_that_was_never_baked_fails_clearly():
    with pytest.raises(Exception) as caught:
        run_program("prod", snapshots={})
    message = str(caught.value)
    assert "not found in region nyc3" in message
    assert "immutable-web:imageSourceHash" in message and "pulumi up --stack staging" in message


def test_secret_value_does_not_appear_in_config_errors():
    with pytest.raises(ConfigError) as caught:
        run_program("staging", config_overrides={"region": "mars1"}, secrets={"appSecret": "hunter2-very-secret"})
    assert "hunter2" not in str(caught.value)


def test_project_file_declares_exactly_the_keys_the_program_reads():
    declared = project_file()["config"]
    assert set(declared) == set(KEYS)
    for key, spec in KEYS.items():
        assert declared[key]["type"] == spec.type, key
        assert declared[key].get("description"), f"{key} has no description"
        assert bool(declared[key].get("secret")) == spec.secret, key
        if spec.secret:
            assert "default" not in declared[key], f"secret {key} must not have a default"


def test_both_stack_files_are_valid_as_committed(staging, prod):
    assert staging.resources and prod.resources


def test_config_errors_are_run_errors_so_the_cli_prints_them_without_a_traceback():
    # The Python language host logs a pulumi.RunError's message alone; anything else as
    # "Program failed with an unhandled exception" with the traceback.
    error = config_error(region="mars1")
    assert isinstance(error, pulumi.RunError)
    assert str(error).startswith("invalid stack configuration (1 problem(s)):")
