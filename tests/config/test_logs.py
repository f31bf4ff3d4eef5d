"""logDestination / logDestinationCa: each bad value a named error; a good one reaches both clouds' user-data."""

from __future__ import annotations

import pytest
import yaml

from components.common.log_shipping import LOG_CA_PATH, RSYSLOG_CONFIG_FILENAME, LogDestination
from config.reader import load_settings
from config.values import ConfigError
from offline.harness import MOCK_DATABASE_CA, run_program, stack_config


def settings_problems(**overrides) -> list[str]:
    config, secret_keys = stack_config("staging", overrides)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, stack="staging", secret_keys=secret_keys)
    return caught.value.problems


@pytest.mark.parametrize(
    ("overrides", "key", "allowed"),
    [
        ({"logDestination": "logs.example.com"}, "logDestination", "host:port"),
        ({"logDestination": "Logs.Example.com:2514"}, "logDestination", "lower-case DNS name"),
        ({"logDestination": "tcp://logs.example.com:2514"}, "logDestination", "host:port"),
        ({"logDestination": "203.0.113.9:2514"}, "logDestination", "is an address"),
        ({"logDestination": "logs.example.com:70000"}, "logDestination", "from 1 to 65535"),
        ({"logDestination": "logs.example.com:0"}, "logDestination", "from 1 to 65535"),
        ({"logDestination": "logs.example.com:2514", "logDestinationCa": "not a certificate"}, "logDestinationCa", "PEM certificates"),
        ({"logDestinationCa": MOCK_DATABASE_CA}, "logDestinationCa", "logDestination is empty"),
    ],
)
def test_bad_log_setting_is_refused_naming_the_key(overrides, key, allowed):
    found = [p for p in settings_problems(**overrides) if p.startswith(f"immutable-web:{key}:")]
    assert any(allowed in p for p in found), f"{key}: expected {allowed!r} in {found}"


def test_a_destination_and_its_ca_become_settings():
    config, secret_keys = stack_config("staging", {"logDestination": "logs.example.com:2514", "logDestinationCa": MOCK_DATABASE_CA})
    settings = load_settings(config, stack="staging", secret_keys=secret_keys)
    assert settings.logs == LogDestination(host="logs.example.com", port=2514, ca=MOCK_DATABASE_CA)


def test_without_a_destination_logs_stay_local_and_the_plan_says_so(staging):
    assert staging.outputs["logShipping"].startswith("none: logs stay on each server")
    user_data = staging.of_type("digitalocean:index/droplet:Droplet")[0].inputs["userData"]
    assert "rsyslog" not in yaml.safe_load(user_data)


def test_digitalocean_user_data_ships_logs_to_the_destination():
    run = run_program("staging", config_overrides={"logDestination": "logs.example.com:2514", "logDestinationCa": MOCK_DATABASE_CA})
    document = yaml.safe_load(run.of_type("digitalocean:index/droplet:Droplet")[0].inputs["userData"])
    assert any(f["path"] == LOG_CA_PATH for f in document["write_files"])
    (rule,) = document["rsyslog"]["configs"]
    assert rule["filename"] == RSYSLOG_CONFIG_FILENAME and 'target="logs.example.com" port="2514"' in rule["content"]
    assert run.outputs["logShipping"].startswith("relp over tls to logs.example.com:2514")


def test_aws_refuses_a_destination_its_fleet_has_no_route_to():
    """The AWS fleet's subnets have no route out (no NAT): a plan that said "shipped" would be a lie, so it is refused."""
    with pytest.raises(ConfigError) as caught:
        run_program("aws-staging", config_overrides={"logDestination": "logs.example.com:2514", "logDestinationCa": MOCK_DATABASE_CA})
    assert caught.value.registered_resources == []
    assert [p for p in caught.value.problems if p.startswith("immutable-web:logDestination: is not supported on AWS yet") and "no route out" in p], caught.value.problems
