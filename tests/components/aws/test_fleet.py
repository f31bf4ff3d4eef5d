"""AwsFleet built with explicit args: the app's secrets as SSM parameters, the instance role that reads them, and user-data that names them."""

from __future__ import annotations

import base64
import json

import pulumi
import yaml

from components.aws.fleet import AwsDatabaseConnection, AwsFleet, AwsFleetArgs
from components.common.cloud_init import ENV_FILE_PATH
from components.health_gate import GateSettings
from offline.harness import StackRun, run_under_mocks
from offline.mocks import RealisticMocks

PARAMETER = "aws:ssm/parameter:Parameter"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
PASSWORD_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/shop/qa/database-password"


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
            user="shop",
            password_parameter_name="/shop/qa/database-password",
            password_parameter_arn=PASSWORD_ARN,
            password_version=1,
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


def app_env(run: StackRun) -> str:
    (template,) = run.of_type(LAUNCH_TEMPLATE)
    document = yaml.safe_load(base64.b64decode(template.inputs["userData"]).decode())
    return next(entry["content"] for entry in document["write_files"] if entry["path"] == ENV_FILE_PATH)


def read_policy_resources(run: StackRun) -> list[str]:
    (statement,) = json.loads(run.named("fleet-read-parameters").inputs["policy"])["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "ssm:GetParameter")
    return statement["Resource"]


def test_without_a_previous_app_secret_one_parameter_and_the_role_reads_it_and_the_password_only():
    run = build()
    assert [parameter.name for parameter in run.of_type(PARAMETER)] == ["fleet-app-secret"]
    assert read_policy_resources(run) == sorted([PASSWORD_ARN, run.named("fleet-app-secret").outputs["arn"]])
    assert "APP_SECRET_PREVIOUS" not in app_env(run)


def test_a_previous_app_secret_is_a_second_secure_string_the_role_may_read():
    # Handed over plain, it is still secret in state (the AWS SDK marks a parameter's value secret too).
    run = build(app_secret_previous="old-s3cret")
    assert sorted(parameter.name for parameter in run.of_type(PARAMETER)) == ["fleet-app-secret", "fleet-app-secret-previous"]
    previous = run.named("fleet-app-secret-previous")
    assert (previous.inputs["name"], previous.inputs["type"], previous.inputs["value"]) == ("/shop/qa/app-secret-previous", "SecureString", "old-s3cret")
    assert "value" in previous.secret_inputs, "the previous app secret must stay secret in state"
    assert previous.parent_name == "fleet"
    assert read_policy_resources(run) == sorted([PASSWORD_ARN, run.named("fleet-app-secret").outputs["arn"], previous.outputs["arn"]])


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
