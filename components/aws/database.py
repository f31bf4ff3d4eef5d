"""AwsDatabase: RDS PostgreSQL that holds the app's state, outside the fleet, and the two passwords the fleet fetches.

Creates a DB subnet group over the private subnets, a parameter group that
refuses unencrypted connections (`rds.force_ssl`), an RDS PostgreSQL instance
(storage encrypted, not publicly accessible, admitted only from the fleet's
security group, Multi-AZ, deletion protection and a final snapshot when
`protect` is set, automated backups), and two SSM Parameter Store SecureStrings:

- the migration password: RDS's master user's, which owns the app's schema and
  runs its migrations (DATABASE_MIGRATION_USER, as DigitalOcean's doadmin);
- the password: the serving role's (DATABASE_USER), a role RDS does not make: the
  image's one-shot migration makes it, as the master user, with DML on the app's
  schema and nothing more (images/webapp/schema.py: provision_serving_role). Its
  password is derived from the master's (`serving_password`: one-way and stretched,
  so neither plans nor state change from run to run, and it tells nothing of the master's).

Neither password is in user-data: the launch template names the parameters, the
instance role may read them (root alone can ask for its credentials on the
instance), and the image fetches them at boot (images/webapp/fetch_secrets.py)
into files of their own: the serving process never holds the master's.

Instances come and go with every image; the database does not, so with
`protect` Pulumi refuses to delete or replace it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

POSTGRES_PORT = 5432
# scrypt's cost for the serving password: 16 MiB and ~0.1 s a derivation (once per program run), so a
# serving password that leaked makes each guess at a weak master password that costly.
SCRYPT_COST = 2**14


def serving_password(migration_password: str, *, salt: str) -> str:
    """The serving role's password, derived from the master's (scrypt, ``salt`` naming the stack): 64 hex digits.

    Deterministic, so a plan and the state change only when the master password does (a new
    master password is a new serving password too: both parameters get a new version, and so the
    fleet a new generation); one-way, so the serving role's password, which the app holds, gives
    nothing of the master's.
    """
    return hashlib.scrypt(migration_password.encode(), salt=salt.encode(), n=SCRYPT_COST, r=8, p=1, dklen=32).hex()


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
    """The serving role (DATABASE_USER): made by the image's migration, not by RDS."""
    migration_user_name: str
    """RDS's master user, which owns the app's schema and runs its migrations (DATABASE_MIGRATION_USER)."""
    migration_password: pulumi.Input[str]
    """The master user's password (the stack's `dbPassword`)."""
    password_parameter_name: str
    """SSM parameter the fleet reads the serving role's password from, e.g. /immutable-web/aws-prod/database-password."""
    migration_password_parameter_name: str
    """SSM parameter the one-shot migration reads the master's password from, e.g. /immutable-web/aws-prod/database-migration-password."""
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
    migration_user_name: pulumi.Output[str]
    migration_password_parameter_name: pulumi.Output[str]
    migration_password_parameter_arn: pulumi.Output[str]
    migration_password_version: pulumi.Output[int]

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
        password = pulumi.Output.secret(args.migration_password)
        instance = aws.rds.Instance(
            f"{name}-postgres",
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            db_name=args.database_name,
            username=args.migration_user_name,
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
        migration = aws.ssm.Parameter(
            f"{name}-migration-password",
            name=args.migration_password_parameter_name,
            type="SecureString",
            value=password,
            description="Database master user's password, for the fleet's one-shot migration; the instance role reads it at boot",
            tags=tags,
            opts=child,
        )
        parameter = aws.ssm.Parameter(
            f"{name}-password",
            name=args.password_parameter_name,
            type="SecureString",
            value=password.apply(lambda value: serving_password(value, salt=args.password_parameter_name)),
            description="Database serving role's password (DML only); the fleet's instance role reads it at boot",
            tags=tags,
            opts=child,
        )

        self.host = instance.address
        self.port = instance.port
        self.database_name = instance.db_name
        self.user_name = pulumi.Output.from_input(args.user_name)
        self.password_parameter_name = parameter.name
        self.password_parameter_arn = parameter.arn
        self.password_version = parameter.version
        self.migration_user_name = instance.username
        self.migration_password_parameter_name = migration.name
        self.migration_password_parameter_arn = migration.arn
        self.migration_password_version = migration.version
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "database_name": self.database_name,
                "user_name": self.user_name,
                "password_parameter_name": self.password_parameter_name,
                "password_parameter_arn": self.password_parameter_arn,
                "password_version": self.password_version,
                "migration_user_name": self.migration_user_name,
                "migration_password_parameter_name": self.migration_password_parameter_name,
                "migration_password_parameter_arn": self.migration_password_parameter_arn,
                "migration_password_version": self.migration_password_version,
            }
        )
