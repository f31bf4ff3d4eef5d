"""The AWS part of the stack config: every bad value is a named problem before any resource exists."""

from __future__ import annotations

import pytest

from config.reader import load_settings
from config.values import ConfigError
from offline.harness import run_program, stack_config


def problems(stack: str = "aws-staging", *, plain: tuple[str, ...] = (), **overrides) -> list[str]:
    config, secret_keys = stack_config(stack, overrides)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, stack=stack, secret_keys=[key for key in secret_keys if key.split(":")[-1] not in plain])
    return caught.value.problems


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        ({"aws:region": None}, "aws:region", "is required on AWS"),
        ({"aws:region": "us-east-9"}, "aws:region", "us-east-1"),
        ({"instanceType": "t3.huge"}, "immutable-web:instanceType", "t3.micro"),
        ({"instanceType": "m7g.large"}, "immutable-web:instanceType", "x86_64"),
        ({"azCount": 1}, "immutable-web:azCount", "from 2 to 4"),
        ({"azCount": 5}, "immutable-web:azCount", "from 2 to 4"),
        ({"vpcCidr": "10.20.0.1/16"}, "immutable-web:vpcCidr", "without host bits"),
        ({"vpcCidr": "10.20.0.0/24"}, "immutable-web:vpcCidr", "/16 or /17"),
        ({"vpcCidr": "8.8.0.0/16"}, "immutable-web:vpcCidr", "private"),
        ({"dbInstanceClass": "t4g.micro"}, "immutable-web:dbInstanceClass", "db.t4g.micro"),
        ({"dbStorageGb": 5}, "immutable-web:dbStorageGb", "from 20"),
        ({"dbBackupDays": 0}, "immutable-web:dbBackupDays", "from 1 to 35"),
        ({"dbMultiAz": "yes"}, "immutable-web:dbMultiAz", "true or false"),
        ({"hostedZone": "example.com"}, "immutable-web:hostedZone", "domain is empty"),
        ({"domain": "example.com", "hostedZone": "example.org"}, "immutable-web:hostedZone", "does not contain"),
        ({"tags": ["team"]}, "immutable-web:tags", "key:value"),
        ({"tags": ["te#am:web"]}, "immutable-web:tags", "letters, digits"),
        ({"tags": ["team:web", "team:ops"]}, "immutable-web:tags", "tagged twice"),
        ({"sshAllowCidrs": ["203.0.113.7/32"]}, "immutable-web:sshAllowCidrs", "no SSH port"),
        ({"imageCopyRegions": ["us-east-1"]}, "immutable-web:imageCopyRegions", "own region"),
        ({"imageCopyRegions": ["nyc3"]}, "immutable-web:imageCopyRegions", "not an AWS region"),
        ({"dropletSize": "s-2vcpu-4gb"}, "immutable-web:dropletSize", "use instanceType"),
        ({"region": "nyc3"}, "immutable-web:region", "aws:region"),
        ({"dbNodeCount": 2}, "immutable-web:dbNodeCount", "use dbMultiAz"),
        ({"dbPassword": None}, "immutable-web:dbPassword", "is required on AWS"),
        ({"dbPassword": "short"}, "immutable-web:dbPassword", "8-128 printable"),
        ({"dbPassword": "has/slash-in-it"}, "immutable-web:dbPassword", "without /"),
        # What AWS itself would refuse at `pulumi up` (RDS's master user is the app's name), or accept without it working.
        ({"appName": "my-shop"}, "immutable-web:appName", "RDS's master user and database name on AWS, which allow 1-16 lower-case letters, digits or _ (no -); e.g. 'myshop'"),
        ({"appName": "averyveryverylongname"[:20]}, "immutable-web:appName", "1-16"),
        ({"logDestination": "logs.example.com:2514"}, "immutable-web:logDestination", "no route out"),
    ],
)
def test_bad_aws_value_is_refused_naming_the_key_and_what_is_allowed(overrides, key, allowed):
    found = problems(**overrides)
    matching = [p for p in found if p.startswith(key + ":")]
    assert matching, f"no problem names {key}: {found}"
    assert any(allowed in p for p in matching), matching


def test_a_plain_text_database_password_is_refused_and_never_echoed():
    found = problems(plain=("dbPassword",))
    assert any(p.startswith("immutable-web:dbPassword:") and "plain text" in p for p in found)
    assert not any("test-secret-dbPassword" in p for p in found)
    found = problems(dbPassword="bad password with spaces")
    assert not any("bad password" in p for p in found), "the value must never be echoed"


def test_every_problem_is_reported_at_once_before_any_resource():
    with pytest.raises(ConfigError) as caught:
        run_program("aws-staging", config_overrides={"instanceType": "x", "azCount": 9, "vpcCidr": "nope"})
    assert len(caught.value.problems) == 3
    assert caught.value.registered_resources == []  # type: ignore[attr-defined]


def test_defaults_give_a_small_two_zone_stack():
    config, secret_keys = stack_config("aws-staging", {"instanceType": None, "azCount": None, "vpcCidr": None})
    settings = load_settings(config, stack="aws-staging", secret_keys=secret_keys)
    assert settings.aws is not None
    assert (settings.aws.instance_type, settings.aws.availability_zone_count, settings.aws.vpc_cidr) == ("t3.micro", 2, "10.20.0.0/16")
    assert settings.aws.tags == {"team": "web"}


def test_a_stack_name_aws_resource_names_cannot_carry_is_refused_naming_the_stack():
    config, secret_keys = stack_config("aws-staging")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, stack="aws_staging", secret_keys=secret_keys)
    assert [p for p in caught.value.problems if p.startswith("stack 'aws_staging':") and "pulumi stack rename aws-staging" in p], caught.value.problems
