"""A wrong stack config is refused before any resource is registered, naming the key and what is allowed.

Most tests call the settings loader with the config the CLI would hand over (a
plain dict, built from the real stack files); a few run the whole program to
prove a bad config stops it before it registers anything.
"""

from __future__ import annotations

import shutil

import pulumi
import pytest

import offline.stack_config as project_files
from components.digitalocean.promoted_image import ImageNotFoundError
from config.aws import AWS_REGIONS
from config.declarations import declarations, declarations_of
from config.digitalocean import DIGITALOCEAN_REGIONS
from config.reader import BUILT_CLOUDS, PROJECT, load_settings, read_settings
from config.values import ConfigError, Values
from deployments import DEPLOYMENTS
from offline.harness import harness_secret, list_stacks, project_file, run_program, stack_config


def problems(stack: str = "staging", *, plain: tuple[str, ...] = (), **overrides) -> list[str]:
    """What the settings loader says about ``stack``'s config with ``overrides``, as a plain dict (no program run).

    ``plain`` keys are handed over as plain text even where the stack marks them secret.
    """
    config, secret_keys = stack_config(stack, overrides)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, stack=stack, secret_keys=[key for key in secret_keys if key.split(":")[-1] not in plain])
    return caught.value.problems


def plan_with_line(tmp_path, monkeypatch, capsys, line: str) -> tuple[str, str]:
    """The offline plan of staging with ``line`` added to its stack file: it must refuse it (exit 2); its (stdout, stderr)."""
    from offline.plan import main as plan

    shutil.copy(project_files.PROJECT_DIR / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.staging.yaml").write_text((project_files.PROJECT_DIR / "Pulumi.staging.yaml").read_text() + line)
    monkeypatch.setattr(project_files, "PROJECT_DIR", tmp_path)
    assert plan(["--stack", "staging"]) == 2
    return capsys.readouterr()


def program_config_error(stack: str = "staging", **overrides) -> ConfigError:
    """The real program under mocks, stopped by the config before it registered anything."""
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
        ({"cloud": "aws"}, "aws:region", "is required on AWS"),
        ({"cloud": "aws", "aws:region": "us-east-1", "dropletSize": "s-2vcpu-4gb"}, "immutable-web:dropletSize", "use instanceType"),
        ({"instanceType": "m7i.large"}, "immutable-web:instanceType", "is an AWS setting"),
        ({"dropletSize": "huge"}, "immutable-web:dropletSize", "s-1vcpu-1gb"),
        ({"dbSize": "s-1vcpu-1gb"}, "immutable-web:dbSize", "db-s-1vcpu-1gb"),
        ({"dbVersion": "9"}, "immutable-web:dbVersion", "13, 14, 15, 16, 17"),
        ({"dbNodeCount": 5}, "immutable-web:dbNodeCount", "from 1 to 3"),
        ({"fleetCount": 0}, "immutable-web:fleetCount", "from 1 to 1000"),
        ({"fleetCount": "two"}, "immutable-web:fleetCount", "whole number"),
        ({"appPort": 80}, "immutable-web:appPort", "from 1024 to 65535"),
        ({"appPort": 70000}, "immutable-web:appPort", "from 1024 to 65535"),
        ({"rollout": "blue-green"}, "immutable-web:rollout", "must be one of all-at-once, canary, batches"),
        ({"rolloutBatchSize": 0}, "immutable-web:rolloutBatchSize", "from 1 to 1000"),
        ({"healthPath": "/status"}, "immutable-web:healthPath", "no longer configurable: the image serves /readyz"),
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
        ({"apPort": 8080}, "immutable-web:apPort", "is not a known key; did you mean appPort?"),
        ({"zzzz": 1}, "immutable-web:zzzz", "is not a known key; allowed keys: appName, appPort"),
        ({"appSecret": None}, "immutable-web:appSecret", "pulumi config set --secret appSecret"),
        ({"appName": "a-very-long-app-name", "appVersion": "10.20.30-rc.123456789012345"}, "immutable-web:appName", "limit is 63"),
        ({"tags": ["team.web"]}, "immutable-web:tags", "letters, digits, : _ -"),
        ({"appSecret": "plain-text"}, "immutable-web:appSecret", "pulumi config set --secret appSecret"),
        ({"domain": "example.com", "dnsRecord": "www.example.com"}, "immutable-web:dnsRecord", "set dnsRecord to 'www'"),
        ({"domain": "example.com", "dnsRecord": "example.com"}, "immutable-web:dnsRecord", "set dnsRecord to '@'"),
        ({"dnsRecord": "www"}, "immutable-web:dnsRecord", "set domain too"),
        ({"sshAllowCidrs": ["0.0.0.0/1", "128.0.0.0/1"], "sshKeys": ["12345"]}, "immutable-web:sshAllowCidrs", "together open SSH to the whole internet (0.0.0.0/0)"),
        ({"sshAllowCidrs": ["::/1", "8000::/1"], "sshKeys": ["12345"]}, "immutable-web:sshAllowCidrs", "whole internet (::/0)"),
        ({"sshAllowCidrs": ["10.0.0.1/24"], "sshKeys": ["12345"]}, "immutable-web:sshAllowCidrs", "has host bits set; did you mean 10.0.0.0/24"),
        ({"imageCopyRegions": ["nyc3"]}, "immutable-web:imageCopyRegions", "this stack's own region"),
        ({"imageCopyRegions": ["ams3", "ams3"]}, "immutable-web:imageCopyRegions", "listed twice"),
        ({"env": ["STRIPE_API_KEY=sk_live_x"]}, "immutable-web:env", "looks like a credential"),
        ({"env": ["SENTRY_DSN=https://key@sentry.example.com/1"]}, "immutable-web:env", "looks like a credential"),
        ({"env": ["UPSTREAM_URL=https://user:pw@api.example.com/"]}, "immutable-web:env", "URL with credentials"),
        ({"dbNodeCount": 2, "dbSize": "db-s-1vcpu-1gb"}, "immutable-web:dbNodeCount", "no standby node"),
        ({"immutable_web:region": "nyc3"}, "immutable_web:region", "did you mean immutable-web:region"),
        ({"digitalocen:token": "x"}, "digitalocen:token", "keys are immutable-web:KEY, digitalocean:KEY, aws:KEY or pulumi:KEY"),
        # Trust is the fleet tag: no stack may tag its droplets into another's pool and firewalls.
        ({"tags": ["hello-prod-fleet"]}, "immutable-web:tags", "could be a fleet tag"),
        ({"tags": ["fleet:hello:prod"]}, "immutable-web:tags", "could be a fleet tag"),
        ({"tags": ["FLEET:hello:prod"]}, "immutable-web:tags", "could be a fleet tag"),
        # Full matches and one line: `$` alone matches before a final line break (a YAML block scalar).
        ({"appVersion": "1.4.2\n"}, "immutable-web:appVersion", "must be one line without control characters"),
        ({"appName": "hello\n"}, "immutable-web:appName", "must be one line"),
        ({"region": "nyc3\n"}, "immutable-web:region", "must be one line"),
        ({"dropletSize": "s-1vcpu-1gb\t"}, "immutable-web:dropletSize", "must be one line"),
        ({"domain": "example.com\n"}, "immutable-web:domain", "must be one line"),
        ({"domain": "example.com\u2028"}, "immutable-web:domain", "must be one line"),
        ({"env": ["FOO\n=bar"]}, "immutable-web:env", "control character"),
        ({"env": ["FOO=bar\nDATABASE_PASSWORD=x"]}, "immutable-web:env", "control character"),
        ({"env": ["FOO=a\x1bb"]}, "immutable-web:env", "control character"),
        ({"tags": ["team\n"]}, "immutable-web:tags", "control character"),
        ({"sshKeys": ["12345\n"]}, "immutable-web:sshKeys", "control character"),
        ({"logDestination": "logs.example.com:2514\n"}, "immutable-web:logDestination", "must be one line"),
        ({"appSecret": "x"}, "immutable-web:appSecret", "at least 32 characters"),
        ({"appSecret": "changeme"}, "immutable-web:appSecret", "openssl rand -hex 32"),
        ({"digitalocean:token": "dop_v1_0123456789abcdef"}, "digitalocean:token", "export DIGITALOCEAN_TOKEN instead"),
        ({"digitalocean:spacesSecretKey": "plain"}, "digitalocean:spacesSecretKey", "in plain text"),
        ({"cloud": "aws", "aws:region": "us-east-1", "aws:secretKey": "plain"}, "aws:secretKey", "export AWS_SECRET_ACCESS_KEY instead"),
        ({"cloud": "amazon"}, "immutable-web:cloud", "must be one of digitalocean, aws; got 'amazon'"),
        ({"rollout": "canary", "rolloutBatchSize": 3}, "immutable-web:rolloutBatchSize", "is only read with rollout: batches"),
        ({"rolloutBatchSize": 3}, "immutable-web:rolloutBatchSize", "set rollout too"),
        ({"tags": {"team": "web"}}, "immutable-web:tags", "not a mapping: write each entry as a YAML list item"),
        ({"env": {"FOO": "bar"}}, "immutable-web:env", "(`- NAME=value`)"),
        ({"apName": "x"}, "immutable-web:apName", "did you mean appName?"),
        ({"imageStack": "staging"}, "immutable-web:imageStack", "is only for imageMode promote"),
        ({"imageMode": "promote", "imageSourceHash": "0123456789ab"}, "immutable-web:imageStack", "is required when imageMode is promote"),
        ({"imageMode": "promote", "imageSourceHash": "0123456789ab", "imageStack": "stag_ing"}, "immutable-web:imageStack", "a stack name"),
        ({"rollout": "canery"}, "immutable-web:rollout", "did you mean canary?"),
        ({"dbversion": "16"}, "immutable-web:dbversion", "did you mean dbVersion?"),
    ],
)
def test_bad_value_is_refused_naming_the_key_and_what_is_allowed(overrides, key, allowed):
    plain = ("appSecret",) if overrides.get("appSecret") == "plain-text" else ()
    found = problems(plain=plain, **overrides)
    matching = [p for p in found if p.startswith(key + ":")]
    assert matching, f"no problem names {key}: {found}"
    assert any(allowed in p for p in matching), f"{key}: expected {allowed!r} in {matching}"


def test_an_unknown_cloud_in_a_stack_file_is_the_one_problem_the_plan_reports(tmp_path, monkeypatch, capsys):
    """Not a missing appSecret (every cloud needs one; the operator sets it) nor the stand-in cloud's keys: the typo alone."""
    _, err = plan_with_line(tmp_path, monkeypatch, capsys, "  immutable-web:cloud: amazon\n")
    assert "immutable-web:cloud: must be one of digitalocean, aws; got 'amazon'" in err and "appSecret" not in err and "(1 problem(s))" in err, err


def test_a_secret_keys_value_never_appears_in_a_problem():
    """Any key set with --secret (not only appSecret): the problem names the key and what is allowed, not the value."""
    config, secret_keys = stack_config("staging", secrets={"domain": "Secret-Domain.example", "dnsRecord": "www\nx", "dnsTtl": "sixty-secret"})
    with pytest.raises(ConfigError) as caught:
        load_settings(config, stack="staging", secret_keys=secret_keys)
    assert {p.split(":")[1] for p in caught.value.problems} >= {"domain", "dnsRecord", "dnsTtl"}, caught.value.problems
    for leaked in ("Secret-Domain", "www", "sixty-secret"):
        assert leaked not in str(caught.value), caught.value.problems


def test_a_plain_text_provider_token_is_refused_and_never_printed():
    found = problems(**{"digitalocean:token": "dop_v1_0123456789abcdef"})
    assert found and not any("dop_v1" in p for p in found), found
    # Encrypted, it is the provider's business.
    config, secret_keys = stack_config("staging", secrets={"digitalocean:token": "dop_v1_0123456789abcdef"})
    assert load_settings(config, stack="staging", secret_keys=secret_keys) is not None


def test_every_problem_is_reported_at_once():
    found = problems(region="mars1", fleetCount=0, appPort=1, tags=["a.b"], dnsRecord="www")
    keys = {p.split(":")[1] for p in found}
    assert {"region", "fleetCount", "appPort", "tags", "dnsRecord"} <= keys


def test_a_bad_stack_config_stops_the_real_program_before_any_resource_is_registered():
    error = program_config_error(region="mars1", fleetCount=0)
    assert {p.split(":")[1] for p in error.problems} == {"region", "fleetCount"}


def test_config_errors_are_run_errors_so_the_cli_prints_them_without_a_traceback():
    # The Python language host logs a pulumi.RunError's message alone; anything else as
    # "Program failed with an unhandled exception" with the traceback.
    error = program_config_error(region="mars1")
    assert isinstance(error, pulumi.RunError)
    assert str(error).startswith("invalid stack configuration (1 problem(s)):")


def test_a_plain_text_app_secret_in_a_stack_file_stops_the_real_program(tmp_path, monkeypatch):
    # The harness marks `secure:` values secret, as the CLI does; a plain value stays plain. The CLI refuses
    # it first (appSecret is declared secret: tests/engine/test_config.py); offline, the program names it.
    text = (project_files.PROJECT_DIR / "Pulumi.staging.yaml").read_text() + "  immutable-web:appSecret: hunter2-in-the-repo\n"
    shutil.copy(project_files.PROJECT_DIR / "Pulumi.yaml", tmp_path)
    (tmp_path / "Pulumi.staging.yaml").write_text(text)
    monkeypatch.setattr(project_files, "PROJECT_DIR", tmp_path)
    # Not declared secret (so the CLI does not refuse it alone, with its own words): the program names the key and the command.
    with pytest.raises(ConfigError) as caught:
        run_program("staging", config_overrides={"region": "mars1"})
    assert [p.split(":")[1] for p in caught.value.problems] == ["region", "appSecret"], caught.value.problems
    assert 'is in plain text in the stack file; remove it and set it encrypted: pulumi config set --secret appSecret "$(openssl rand -hex 32)"' in caught.value.problems[1]
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("stack", "key", "command"), [("staging", "appVersion", "pulumi config set appVersion"), ("staging", "appSecret", "--secret appSecret"), ("aws-prod", "appSecret", "--secret appSecret")]
)
def test_a_required_key_the_stack_lacks_is_reported_with_every_other_problem(stack, key, command):
    """The CLI would stop at a missing declared key alone (pulumi/pulumi's mergeConfig): declared empty, the program reports it with the rest."""
    stack_config(stack, {key: None})  # the CLI's checks pass
    found = problems(stack, **{key: None}, fleetCount=0)
    assert {p.split(":")[1] for p in found} == {key, "fleetCount"}, found
    assert [p for p in found if p.startswith(f"immutable-web:{key}: is required") and command in p], found


@pytest.mark.parametrize(("stack", "key", "message"), [("aws-staging", "dbPassword", "is required on AWS"), ("staging", "region", "is required on DigitalOcean")])
def test_a_key_one_cloud_requires_is_asked_for_by_the_program(stack, key, message):
    """Declared with an empty default, so that the other cloud's stacks pass the CLI without it: the program asks instead."""
    assert [p for p in problems(stack, **{key: None}) if p.startswith(f"immutable-web:{key}: {message}")]


@pytest.mark.parametrize("stack", ["staging", "prod", "aws-staging", "aws-prod"])
def test_every_stack_passes_the_clis_checks_once_its_operator_secrets_are_set(stack):
    """Nothing a stack does not need is required of it: each declared key without a default is set by every stack."""
    config, secret_keys = stack_config(stack)
    load_settings(config, stack=stack, secret_keys=secret_keys)


@pytest.mark.parametrize("stack", ["prod_eu", "prod.eu"])
def test_a_stack_name_droplets_and_tags_cannot_carry_is_refused_naming_the_stack(stack):
    config, secret_keys = stack_config("staging")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, stack=stack, secret_keys=secret_keys)
    assert [p for p in caught.value.problems if p.startswith(f"stack {stack!r}:") and "pulumi stack rename prod-eu" in p], caught.value.problems


def test_other_namespaces_the_stacks_use_are_accepted():
    config, secret_keys = stack_config("staging", {"digitalocean:apiEndpoint": "https://api.digitalocean.com", "pulumi:disable-default-providers": "[]"})
    assert load_settings(config, stack="staging", secret_keys=secret_keys).digitalocean.region == "nyc3"


def test_standby_nodes_are_accepted_on_a_plan_that_offers_them():
    config, secret_keys = stack_config("staging", {"dbNodeCount": 2, "dbSize": "db-s-1vcpu-2gb"})
    assert load_settings(config, stack="staging", secret_keys=secret_keys).digitalocean.database_node_count == 2


def test_promote_mode_errors_are_specific_to_prod():
    assert any("12 lower-case hex digits" in p for p in problems("prod", imageSourceHash="XYZ"))
    assert any(p.startswith("immutable-web:imageCopyRegions:") for p in problems("prod", imageCopyRegions=["ams3"]))


def test_promoting_an_image_that_was_never_baked_fails_clearly():
    with pytest.raises(ImageNotFoundError) as caught:
        run_program("prod", snapshots={})
    message = str(caught.value)
    assert "not found in region nyc3" in message
    assert "immutable-web:imageSourceHash" in message and "pulumi up --stack staging" in message


def test_secret_value_does_not_appear_in_config_errors():
    config, secret_keys = stack_config("staging", {"region": "mars1"}, secrets={"appSecret": "hunter2-very-secret"})
    with pytest.raises(ConfigError) as caught:
        load_settings(config, stack="staging", secret_keys=secret_keys)
    assert "hunter2" not in str(caught.value)


def test_the_program_reads_exactly_the_declared_keys_as_their_declared_types():
    read: dict[str, str] = {}
    for stack in ("staging", "aws-staging"):  # each cloud reads the shared keys and its own
        config, secret_keys = stack_config(stack)
        values = Values({key.removeprefix(f"{PROJECT}:"): value for key, value in config.items() if key.startswith(f"{PROJECT}:")})
        assert read_settings(values, stack=stack, secret=secret_keys, full=config) is not None, values.problems
        read.update(values.read)
    declared = declarations()
    assert read == {key: declaration.type for key, declaration in declared.items()}
    for key, declaration in declared.items():
        assert declaration.description, f"{key} has no description"
        if declaration.secret:
            assert declaration.default is None, f"secret {key} must not have a default"
    assert declarations() == declarations_of(project_file())


def test_an_unset_key_takes_its_pulumi_yaml_default_and_one_without_a_default_is_required():
    secret = harness_secret("appSecret")
    settings = load_settings({"region": "nyc3", "appVersion": "1.0.0", "appSecret": secret}, stack="staging", secret_keys=["appSecret"])
    assert (settings.fleet.count, settings.app.name, settings.digitalocean.droplet_size) == (2, "hello", "s-1vcpu-1gb")
    with pytest.raises(ConfigError) as caught:
        load_settings({"appSecret": secret}, stack="staging", secret_keys=["appSecret"])
    assert {p.split(":")[1] for p in caught.value.problems} == {"region", "appVersion"}


def test_every_cloud_the_config_accepts_has_a_deployment():
    assert set(BUILT_CLOUDS) == set(DEPLOYMENTS)


@pytest.mark.parametrize("stack", list_stacks())
def test_every_committed_stack_file_is_valid(stack):
    # Loads inside the test body: a ConfigError is this test failing, naming the problem.
    config, secret_keys = stack_config(stack)
    settings = load_settings(config, stack=stack, secret_keys=secret_keys)
    if settings.cloud == "aws":
        assert settings.aws is not None and settings.digitalocean is None
        assert settings.stack == stack and settings.aws.region in AWS_REGIONS
    else:
        assert settings.digitalocean is not None and settings.aws is None
        assert settings.stack == stack and settings.digitalocean.region in DIGITALOCEAN_REGIONS


def test_the_previous_app_secret_is_optional_and_secret_when_set():
    config, secret_keys = stack_config("staging")
    assert load_settings(config, stack="staging", secret_keys=secret_keys).app_secret_previous is None
    config, secret_keys = stack_config("staging", secrets={"appSecretPrevious": "the-old-secret"})
    previous = load_settings(config, stack="staging", secret_keys=secret_keys).app_secret_previous
    assert isinstance(previous, pulumi.Output)


@pytest.mark.parametrize(
    ("key", "value", "plain", "expected"),
    [
        ("appSecretPrevious", harness_secret("appSecret"), False, "is the same as appSecret"),
        ("appSecretPrevious", "the-old-secret", True, "in plain text in the stack file; remove it and set it encrypted: pulumi config set --secret appSecretPrevious"),
        ("appSecretPrevious", "the-old\nsecret", False, "holds a line break"),
        ("appSecret", "a-new\rsecret", False, "holds a line break"),
    ],
)
def test_a_wrong_app_secret_or_previous_one_is_refused_naming_the_key_never_the_value(key, value, plain, expected):
    config, secret_keys = stack_config("staging", secrets={key: value})
    with pytest.raises(ConfigError) as caught:
        load_settings(config, stack="staging", secret_keys=[k for k in secret_keys if not (plain and k == f"{PROJECT}:{key}")])
    assert [p for p in caught.value.problems if p.startswith(f"{PROJECT}:{key}:") and expected in p], caught.value.problems
    assert value not in str(caught.value)


def test_a_previous_app_secret_equal_to_the_new_one_stops_the_real_program_before_any_resource():
    with pytest.raises(ConfigError) as caught:
        run_program("aws-staging", secrets={"appSecret": "same-secret-twice-0123456789abcdef", "appSecretPrevious": "same-secret-twice-0123456789abcdef"})
    assert caught.value.registered_resources == [], "a resource was registered before the config was validated"
    assert [p.split(":")[1] for p in caught.value.problems] == ["appSecretPrevious"]
    assert "same-secret-twice-0123456789abcdef" not in str(caught.value)


def test_a_plain_text_previous_app_secret_stops_the_offline_plan_with_one_line_naming_the_key(tmp_path, monkeypatch, capsys):
    out, err = plan_with_line(tmp_path, monkeypatch, capsys, "  immutable-web:appSecretPrevious: hunter2-in-the-repo\n")
    assert "immutable-web:appSecretPrevious: is in plain text" in err and "pulumi config set --secret appSecretPrevious" in err, err
    assert "Traceback" not in out + err and "hunter2" not in out + err
