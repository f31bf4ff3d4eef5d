"""AwsFleet built with explicit args: the app's secrets as SSM parameters, the instance role that reads them, and user-data that names them."""

from __future__ import annotations

import base64
import json

import pulumi
import yaml

from components.aws.fleet import AwsDatabaseConnection, AwsFleet, AwsFleetArgs
from components.common.cloud_init import ENV_FILE_PATH, MIGRATION_ENV_FILE_PATH
from components.health_gate import GateSettings
from offline.harness import StackRun, run_under_mocks
from offline.mocks import RealisticMocks

PARAMETER = "aws:ssm/parameter:Parameter"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
PASSWORD_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/shop/qa/database-password"
MIGRATION_PASSWORD_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/shop/qa/database-migration-password"


def fleet_args(**changes) -> AwsFleetArgs:
    values = dict(
        stack="qa",
        region="us-east-1",
        app_version="2.0.1",
        app_port=9000,
        image_id="ami-0123456789abcdef0",
        count=2,
        instance_type="t3.micro",
        subnet_ids=["subnet-a", "subnet-b"],
        security_group_id="sg-fleet",
        target_group_arn="arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/1",
        database=AwsDatabaseConnection(
            host="db.internal",
            port=5432,
            name="shop",
            user="shop_serving",
            password_parameter_name="/shop/qa/database-password",
            password_parameter_arn=PASSWORD_ARN,
            password_version=1,
            migration_user="shop",
            migration_password_parameter_name="/shop/qa/database-migration-password",
            migration_password_parameter_arn=MIGRATION_PASSWORD_ARN,
            migration_password_version=3,
        ),
        app_secret=pulumi.Output.secret("s3cret"),
        parameter_prefix="/shop/qa",
        drain_seconds=20,
        env={},
        gate=GateSettings(url="http://alb.example/healthz", timeout_seconds=300),
    )
    values.update(changes)
    return AwsFleetArgs(**values)


def build(parameter_version: int = 1, **changes) -> StackRun:
    mocks = RealisticMocks("qa", overrides={PARAMETER: {"version": parameter_version}})
    return run_under_mocks(lambda: AwsFleet("fleet", fleet_args(**changes)), stack="qa", mocks=mocks)


def user_data_files(run: StackRun) -> dict[str, dict]:
    (template,) = run.of_type(LAUNCH_TEMPLATE)
    document = yaml.safe_load(base64.b64decode(template.inputs["userData"]).decode())
    return {entry["path"]: entry for entry in document["write_files"]}


def parse_env_file(text: str) -> dict[str, str]:
    """render_env_file's lines (NAME="value"), for values without quotes or backslashes."""
    return {name: value.removeprefix('"').removesuffix('"') for name, value in (line.split("=", 1) for line in text.splitlines())}


def app_env(run: StackRun) -> str:
    return user_data_files(run)[ENV_FILE_PATH]["content"]


def read_policy_resources(run: StackRun) -> list[str]:
    (statement,) = json.loads(run.named("fleet-read-parameters").inputs["policy"])["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "ssm:GetParameter")
    return statement["Resource"]


def test_without_a_previous_app_secret_one_parameter_and_the_role_reads_it_and_the_password_only():
    run = build()
    assert [parameter.name for parameter in run.of_type(PARAMETER)] == ["fleet-app-secret"]
    assert read_policy_resources(run) == sorted([PASSWORD_ARN, MIGRATION_PASSWORD_ARN, run.named("fleet-app-secret").outputs["arn"]])
    assert "APP_SECRET_PREVIOUS" not in app_env(run)


def test_a_previous_app_secret_is_a_second_secure_string_the_role_may_read():
    # Handed over plain, it is still secret in state (the AWS SDK marks a parameter's value secret too).
    run = build(app_secret_previous="old-s3cret")
    assert sorted(parameter.name for parameter in run.of_type(PARAMETER)) == ["fleet-app-secret", "fleet-app-secret-previous"]
    previous = run.named("fleet-app-secret-previous")
    assert (previous.inputs["name"], previous.inputs["type"], previous.inputs["value"]) == ("/shop/qa/app-secret-previous", "SecureString", "old-s3cret")
    assert "value" in previous.secret_inputs, "the previous app secret must stay secret in state"
    assert previous.parent_name == "fleet"
    assert read_policy_resources(run) == sorted([PASSWORD_ARN, MIGRATION_PASSWORD_ARN, run.named("fleet-app-secret").outputs["arn"], previous.outputs["arn"]])


def test_user_data_names_the_previous_app_secret_and_its_version_never_its_value():
    env = app_env(build(parameter_version=4, app_secret_previous=pulumi.Output.secret("old-s3cret")))
    assert 'APP_SECRET_PREVIOUS_PARAMETER="/shop/qa/app-secret-previous"\nAPP_SECRET_PREVIOUS_VERSION="4"\n' in env
    assert "s3cret" not in env, "user-data holds no secret on AWS"


def test_setting_or_dropping_the_previous_app_secret_is_a_new_generation_so_a_new_launch_template():
    # And a new value is a new parameter version (SSM counts them), in user-data as above: a new generation too.
    without, with_previous = build(), build(app_secret_previous=pulumi.Output.secret("old-s3cret"))
    (before,), (after,) = without.of_type(LAUNCH_TEMPLATE), with_previous.of_type(LAUNCH_TEMPLATE)
    assert before.inputs["userData"] != after.inputs["userData"]
    generation = [line for run in (without, with_previous) for line in app_env(run).splitlines() if line.startswith("APP_GENERATION=")]
    assert len(set(generation)) == 2, generation


def test_the_schema_owner_is_named_only_in_a_root_only_migration_env_and_the_app_env_names_the_serving_role():
    """The two roles' split, as user-data carries it: the app's env names the serving role and its password's parameter;
    migration.env (webapp-migrate.service's alone) the master user and its password's parameter; neither holds a password."""
    files = user_data_files(build())
    assert sorted(files) == [ENV_FILE_PATH, MIGRATION_ENV_FILE_PATH]
    migration = files[MIGRATION_ENV_FILE_PATH]
    assert (migration["owner"], migration["permissions"]) == ("root:root", "0600")
    assert parse_env_file(migration["content"]) == {
        "DATABASE_MIGRATION_USER": "shop",
        "DATABASE_MIGRATION_PASSWORD_PARAMETER": "/shop/qa/database-migration-password",
        "DATABASE_MIGRATION_PASSWORD_VERSION": "3",
        "DATABASE_MIGRATION_MANAGES_USER": "true",
    }
    env = parse_env_file(files[ENV_FILE_PATH]["content"])
    assert (env["DATABASE_USER"], env["DATABASE_PASSWORD_PARAMETER"]) == ("shop_serving", "/shop/qa/database-password")
    assert not [name for name in env if name.startswith("DATABASE_MIGRATION") or name.endswith("_PASSWORD") or name == "APP_SECRET"], env


def test_a_new_master_password_version_is_a_new_generation():
    """The migration unit reads the master password once, at boot: a new one reaches only a new generation's instances."""
    generations = set()
    for version in (3, 4):
        database = fleet_args().database
        changed = AwsDatabaseConnection(**{**vars(database), "migration_password_version": version})
        generations.update(line for line in app_env(build(database=changed)).splitlines() if line.startswith("APP_GENERATION="))
    assert len(generations) == 2, generations


def test_the_instance_metadata_is_imdsv2_only_one_hop_and_ipv4_only():
    """Only root reaches the metadata service on the instance (the image's nftables rule): the role's credentials, and with them both
    passwords' parameters, are root's; a second hop (a container) or IPv6 would be ways around that rule, so both are off."""
    (template,) = build().of_type(LAUNCH_TEMPLATE)
    options = template.inputs["metadataOptions"]
    assert (options["httpTokens"], options["httpPutResponseHopLimit"], options["httpProtocolIpv6"]) == ("required", 1, "disabled"), options
