"""AwsDatabase: the two roles' passwords as SSM SecureStrings, and the serving role's password derived from the master's."""

from __future__ import annotations

import pulumi

from components.aws.database import AwsDatabase, AwsDatabaseArgs, serving_password
from offline.harness import StackRun, run_under_mocks

PARAMETER = "aws:ssm/parameter:Parameter"
RDS = "aws:rds/instance:Instance"
MASTER_PASSWORD = "master-only-9d1e7c"


def build() -> StackRun:
    args = AwsDatabaseArgs(
        subnet_ids=["subnet-a", "subnet-b"],
        security_group_id="sg-database",
        engine_version="16",
        instance_class="db.t4g.micro",
        allocated_storage_gb=20,
        multi_az=False,
        backup_retention_days=1,
        database_name="shop",
        user_name="shop_serving",
        migration_user_name="shop",
        migration_password=pulumi.Output.secret(MASTER_PASSWORD),
        password_parameter_name="/shop/qa/database-password",
        migration_password_parameter_name="/shop/qa/database-migration-password",
        protect=False,
        tags={"app": "shop"},
        final_snapshot_name="shop-qa-final",
    )
    return run_under_mocks(lambda: AwsDatabase("database", args), stack="qa")


def test_the_master_user_is_rds_and_each_roles_password_is_a_secret_secure_string_of_its_own():
    run = build()
    (instance,) = run.of_type(RDS)
    assert instance.inputs["username"] == "shop" and "password" in instance.secret_inputs
    parameters = {parameter.inputs["name"]: parameter for parameter in run.of_type(PARAMETER)}
    assert sorted(parameters) == ["/shop/qa/database-migration-password", "/shop/qa/database-password"]
    for name, parameter in parameters.items():
        assert parameter.inputs["type"] == "SecureString" and "value" in parameter.secret_inputs, name
    assert parameters["/shop/qa/database-migration-password"].inputs["value"] == MASTER_PASSWORD
    serving = parameters["/shop/qa/database-password"].inputs["value"]
    assert serving == serving_password(MASTER_PASSWORD, salt="/shop/qa/database-password")
    assert MASTER_PASSWORD not in serving


def test_the_serving_password_is_stable_per_stack_and_tells_nothing_of_the_master():
    """The same master password and stack: the same serving password (no churn in plans or state); another stack or master: another."""
    first = serving_password(MASTER_PASSWORD, salt="/shop/qa/database-password")
    assert first == serving_password(MASTER_PASSWORD, salt="/shop/qa/database-password")
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != serving_password(MASTER_PASSWORD, salt="/shop/prod/database-password")
    assert first != serving_password(MASTER_PASSWORD + "x", salt="/shop/qa/database-password")
    assert MASTER_PASSWORD not in first
