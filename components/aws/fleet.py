"""AwsFleet: one launch template and one auto-scaling group per rollout wave, replaced whole on every change, each wave gated.

Creates the app secret's SSM SecureString (and, during a rotation's grace period,
the previous app secret's), the fleet's identity (an IAM role whose only permission
is reading the stack's SSM parameters, and its instance profile), a launch template (the AMI,
user-data that names the parameters but holds no secret, IMDSv2 required with a
hop limit of 1, an encrypted gp3 root volume, no public IP, the fleet's security
group) and, per rollout wave, an auto-scaling group in the private subnets that
registers its instances in the load balancer's target group, then a HealthGate.

TWO DATABASE ROLES. User-data writes the app's environment (the serving role and the
parameter of its password) and, apart, migration.env (RDS's master user and the
parameter of its password), which only the image's one-shot webapp-migrate.service
loads: it makes the serving role and migrates as the schema's owner before the app
serves. The instance role may read both passwords' parameters: IAM cannot tell one
process of an instance from another, so the split is on the instance, where only root
may ask the metadata service for the role's credentials (the base image's nftables
rule) and root writes each password into a file of its own (docs/security.md).

IMMUTABLE GENERATIONS. The launch template and the groups are replaced on any
change (`replace_on_changes=["*"]`), create-before-destroy, with auto-generated
names, so the new generation exists beside the old one. A group counts as
created only once its desired instances are healthy in the target group
(`wait_for_elb_capacity`); then the wave's HealthGate polls the deep health
path through the ALB until that many instances of *this* generation answer
healthy. The generation is a hash of everything the fleet is made of, handed
to each instance in its user-data and reported by `/healthz`: an instance of
the previous generation can never pass the gate. Only after the last gate do
the old groups go; each of their instances leaves the target group through the
deregistration delay (the ALB drains it) before it is terminated.

Why not one group with `instance_refresh`: Pulumi (like Terraform) starts the
refresh and returns; nothing waits for it to finish or fails the update when
it does, so a bad image would roll through while `pulumi up` reports success.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws.generation import fleet_generation
from components.common.cloud_init import aws_app_environment, aws_migration_environment, render_user_data
from components.common.log_shipping import LogDestination
from components.common.rollout import RolloutStrategy, rollout_waves
from components.health_gate import GateSettings, HealthGate, HealthGateArgs


@dataclass(frozen=True, kw_only=True)
class AwsDatabaseConnection:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    name: pulumi.Input[str]
    user: pulumi.Input[str]
    """The serving role (DML only), whose password the app gets."""
    password_parameter_name: pulumi.Input[str]
    password_parameter_arn: pulumi.Input[str]
    password_version: pulumi.Input[int]
    migration_user: pulumi.Input[str]
    """RDS's master user: owns the schema, runs the migrations and makes the serving role, in webapp-migrate.service alone."""
    migration_password_parameter_name: pulumi.Input[str]
    migration_password_parameter_arn: pulumi.Input[str]
    migration_password_version: pulumi.Input[int]


@dataclass(frozen=True, kw_only=True)
class AwsFleetArgs:
    stack: str
    region: str
    app_version: str
    app_port: int
    image_id: pulumi.Input[str]
    """The AMI."""
    count: int
    instance_type: str
    subnet_ids: pulumi.Input[list[str]]
    """Private subnets, one per zone: the groups spread instances over them."""
    security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    database: AwsDatabaseConnection
    app_secret: pulumi.Input[str]
    """Stored as an SSM SecureString beside the database password; user-data names it, never holds it."""
    parameter_prefix: str
    """SSM path of this stack's parameters, e.g. /immutable-web/aws-staging."""
    drain_seconds: int
    env: Mapping[str, str]
    gate: GateSettings
    rollout: RolloutStrategy = RolloutStrategy.ALL_AT_ONCE
    batch_size: int = 1
    tags: Mapping[str, str] = field(default_factory=dict)
    name_prefix: str = "fleet"
    """Readable prefix for Name tags, e.g. hello-aws-staging."""
    capacity_timeout_seconds: int = 900
    """How long a new group may take until its instances are healthy in the target group."""
    app_secret_previous: pulumi.Input[str] | None = None
    """The secret app_secret replaced (a rotation's grace period): a second SecureString, only when set."""
    log_destination: LogDestination | None = None
    """Where the instances ship their logs (no credential: user-data may carry it); None: logs stay on each instance."""


# Every change to the template or a group is a new generation beside the old one (see the module docstring).
REPLACE_ON_CHANGES = ["*"]

ASSUME_ROLE_POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
    sort_keys=True,
)


def read_parameters_policy(parameter_arns: Sequence[str]) -> str:
    """The instance role's only permission: read these parameters (SecureStrings under the AWS-managed key need no kms grant)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": sorted(parameter_arns)}]}, sort_keys=True)


class AwsFleet(pulumi.ComponentResource):
    generation: pulumi.Output[str]
    group_names: pulumi.Output[list[str]]
    launch_template_id: pulumi.Output[str]
    gates: list[HealthGate]

    def __init__(self, name: str, args: AwsFleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("immutable-web:aws:Fleet", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        waves = rollout_waves(args.count, args.rollout, args.batch_size)

        def secure_string(suffix: str, value: pulumi.Input[str], what: str) -> aws.ssm.Parameter:
            return aws.ssm.Parameter(
                f"{name}-{suffix}",
                name=f"{args.parameter_prefix}/{suffix}",
                type="SecureString",
                value=pulumi.Output.secret(value),
                description=f"{what}; the fleet's instance role reads it at boot",
                tags=tags,
                opts=child,
            )

        app_secret = secure_string("app-secret", args.app_secret, "APP_SECRET")
        # Only during a rotation's grace period; removing it later deletes the parameter (and the role's right to it).
        previous = None if args.app_secret_previous is None else secure_string("app-secret-previous", args.app_secret_previous, "APP_SECRET_PREVIOUS (the app secret before a rotation)")
        database = args.database
        environment = pulumi.Output.all(
            database.host,
            database.port,
            database.name,
            database.user,
            database.password_parameter_name,
            database.password_version,
            app_secret.name,
            app_secret.version,
            None if previous is None else previous.name,
            None if previous is None else previous.version,
        ).apply(
            lambda values: aws_app_environment(
                app_env=args.stack,
                app_port=args.app_port,
                database_host=values[0],
                database_port=int(values[1]),
                database_name=values[2],
                database_user=values[3],
                database_password_parameter=values[4],
                database_password_version=int(values[5]),
                app_secret_parameter=values[6],
                app_secret_version=int(values[7]),
                region=args.region,
                drain_seconds=args.drain_seconds,
                extra_env=args.env,
                # Its name and version in user-data, as the app secret's: a new value is a new generation.
                app_secret_previous_parameter=values[8],
                app_secret_previous_version=None if values[9] is None else int(values[9]),
            )
        )

        migration_environment = pulumi.Output.all(database.migration_user, database.migration_password_parameter_name, database.migration_password_version).apply(
            lambda values: aws_migration_environment(user=values[0], password_parameter=values[1], password_version=int(values[2]))
        )

        role = aws.iam.Role(f"{name}-role", assume_role_policy=ASSUME_ROLE_POLICY, description="Fleet instances: read the stack's SSM parameters", tags=tags, opts=child)
        aws.iam.RolePolicy(
            f"{name}-read-parameters",
            role=role.id,
            # Exactly the parameters that exist: the previous app secret's only while there is one. The master
            # password's too: only root on an instance can use the role (see the module docstring).
            policy=pulumi.Output.all(database.password_parameter_arn, database.migration_password_parameter_arn, app_secret.arn, *([] if previous is None else [previous.arn])).apply(
                read_parameters_policy
            ),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, tags=tags, opts=child)

        # Everything an instance is made of, hashed: a new value anywhere is a new generation.
        self.generation = pulumi.Output.all(
            image=args.image_id,
            instance_type=args.instance_type,
            environment=environment,
            migration_environment=migration_environment,
            subnets=args.subnet_ids,
            security_group=args.security_group_id,
            target_group=args.target_group_arn,
            profile=profile.arn,
            waves=[list(wave) for wave in waves],
        ).apply(fleet_generation)
        user_data = pulumi.Output.all(environment, self.generation, migration_environment).apply(
            lambda values: render_user_data({**values[0], "APP_GENERATION": values[1]}, database_ca=None, log_destination=args.log_destination, migration_env=values[2])
        )

        template = aws.ec2.LaunchTemplate(
            f"{name}-template",
            image_id=args.image_id,
            instance_type=args.instance_type,
            user_data=user_data.apply(lambda text: base64.b64encode(text.encode()).decode()),
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            # IMDSv2 only, one hop: a process in a container or behind a proxy on the instance cannot reach it.
            # The image's nftables rule keeps both metadata addresses (IPv4 and EC2's IPv6) to root; IPv6 stays off anyway.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1, http_protocol_ipv6="disabled", instance_metadata_tags="disabled"
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(encrypted="true", volume_type="gp3", delete_on_termination="true"),
                )
            ],
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(device_index=0, associate_public_ip_address="false", security_groups=[args.security_group_id], delete_on_termination="true")
            ],
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags={**tags, "Name": f"{args.name_prefix}-{kind}"}) for kind in ("instance", "volume")],
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=REPLACE_ON_CHANGES, delete_before_replace=False),
        )

        self.gates = []
        groups = []
        started = 0
        for wave, indexes in enumerate(waves):
            # The previous wave's gate must pass before this wave's group is created (a failed canary stops here).
            after = [self.gates[-1].command] if self.gates else []
            size = len(indexes)
            group = aws.autoscaling.Group(
                f"{name}-{wave}",
                min_size=size,
                max_size=size,
                desired_capacity=size,
                vpc_zone_identifiers=args.subnet_ids,
                launch_template=aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
                target_group_arns=[args.target_group_arn],
                # The target group's health check decides an instance's health (and replaces a failing one after the grace period).
                health_check_type="ELB",
                health_check_grace_period=args.capacity_timeout_seconds,
                # Created = this many instances healthy in the target group; a bad generation fails here.
                wait_for_elb_capacity=size,
                wait_for_capacity_timeout=f"{args.capacity_timeout_seconds}s",
                tags=[aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=True) for key, value in {**tags, "Name": f"{args.name_prefix}-{wave}"}.items()],
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=after,
                    replace_on_changes=REPLACE_ON_CHANGES,
                    # The new group is created before the old one is deleted: no gap in capacity.
                    delete_before_replace=False,
                    # Deleting a group drains each instance from the target group (the deregistration delay) first.
                    custom_timeouts=pulumi.CustomTimeouts(create=f"{args.capacity_timeout_seconds + 300}s", delete="20m"),
                ),
            )
            groups.append(group)
            started += size
            self.gates.append(
                HealthGate(
                    f"{name}-gate-{wave}",
                    HealthGateArgs(
                        url=args.gate.url,
                        expect_version=args.app_version,
                        generation=self.generation,
                        expect_count=started,
                        # A new group re-runs the gate, as a new set of droplet ids does on DigitalOcean.
                        triggers=[group.arn],
                        timeout_seconds=args.gate.timeout_seconds,
                        resolve=args.gate.resolve,
                    ),
                    opts=child,
                )
            )

        self.group_names = pulumi.Output.all(*[group.name for group in groups])
        self.launch_template_id = template.id
        self.register_outputs({"generation": self.generation, "group_names": self.group_names, "launch_template_id": self.launch_template_id})
