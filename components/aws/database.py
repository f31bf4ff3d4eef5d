"""AwsDatabase: RDS PostgreSQL that holds the app's state, outside the fleet, and the one secret the fleet fetches.

Creates a DB subnet group over the private subnets, a parameter group that
refuses unencrypted connections (`rds.force_ssl`), an RDS PostgreSQL instance
(storage encrypted, not publicly accessible, admitted only from the fleet's
security group, Multi-AZ, deletion protection and a final snapshot when
`protect` is set, automated backups), and an SSM Parameter Store SecureString
holding the password. The password is never in user-data: the launch template
names the parameter, the instance role may read that one parameter, and the
image fetches it at boot (images/webapp/fetch_secrets.py).

Instances come and go with every image; the database does not, so with
`protect` Pulumi refuses to delete or replace it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

POSTGRES_PORT = 5432


@dataclass(frozen=True, kw_only=True)
class AwsDatabaseArgs:
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets, one per zone."""
    security_group_id: pulumi.Input[str]
    """The database's group (AwsNetwork): PostgreSQL from the fleet's group only."""
    engine_version: str
    """PostgreSQL major version, e.g. 16 (RDS picks the newest minor and upgrades minors itself)."""
    instance_class: str
    allocated_storage_gb: int
    multi_az: bool
    backup_retention_days: int
    database_name: str
    user_name: str
    password: pulumi.Input[str]
    password_parameter_name: str
    """SSM parameter the fleet reads the password from, e.g. /immutable-web/aws-prod/database-password."""
    protect: bool
    """Refuse to delete or replace the instance; deletion protection; a final snapshot if it is ever deleted."""
    tags: Mapping[str, str]
    final_snapshot_name: str
    """Identifier of the snapshot taken if a protected database is deleted after all."""


class AwsDatabase(pulumi.ComponentResource):
    host: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    user_name: pulumi.Output[str]
    password_parameter_name: pulumi.Output[str]
    password_parameter_arn: pulumi.Output[str]
    password_version: pulumi.Output[int]
    """The parameter's version: a new password is a new version, which the fleet's user-data names (so the fleet is replaced)."""

    def __init__(self, name: str, args: AwsDatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:aws:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)

        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=args.subnet_ids, tags=tags, opts=child)
        parameters = aws.rds.ParameterGroup(
            f"{name}-parameters",
            family=f"postgres{args.engine_version}",
            # Refuse any connection without TLS (the app verifies the server with verify-full).
            parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
            tags=tags,
            # A new major version needs a new family: the new group before the old one goes.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )
        password = pulumi.Output.secret(args.password)
        instance = aws.rds.Instance(
            f"{name}-postgres",
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=args.database_name,
            username=args.user_name,
            password=password,
            db_subnet_group_name=subnets.name,
            parameter_group_name=parameters.name,
            vpc_security_group_ids=[args.security_group_id],
            publicly_accessible=False,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            deletion_protection=args.protect,
            # Unprotected (staging): delete without a snapshot. Protected: the provider takes a final snapshot.
            skip_final_snapshot=not args.protect,
            final_snapshot_identifier=args.final_snapshot_name if args.protect else None,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                # The data outlives every fleet: with protect, `pulumi up` refuses a plan that would delete or
                # replace the instance (e.g. turning storage encryption off) and `pulumi destroy` stops here.
                protect=args.protect,
                # The master password is an input: keep it encrypted in state.
                additional_secret_outputs=["password"],
                # A Multi-AZ instance takes far longer to create or modify than the default 40 minutes allow.
                custom_timeouts=pulumi.CustomTimeouts(create="90m", update="90m", delete="60m"),
            ),
        )
        parameter = aws.ssm.Parameter(
            f"{name}-password",
            name=args.password_parameter_name,
            type="SecureString",
            value=password,
            description="Database password; the fleet's instance role reads it at boot",
            tags=tags,
            opts=child,
        )

        self.host = instance.address
        self.port = instance.port
        self.database_name = instance.db_name
        self.user_name = instance.username
        self.password_parameter_name = parameter.name
        self.password_parameter_arn = parameter.arn
        self.password_version = parameter.version
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "database_name": self.database_name,
                "user_name": self.user_name,
                "password_parameter_name": self.password_parameter_name,
                "password_parameter_arn": self.password_parameter_arn,
                "password_version": self.password_version,
            }
        )
