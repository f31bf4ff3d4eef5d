"""The AWS deployment: bake (or promote) an AMI, replace the fleet group by group, keep state outside.

    config ──► ImageBuild (base, amazon-ebs) ──► ImageBuild (app) ──┬──► AwsImageCopies (an AmiCopy per imageCopyRegions)
               or AwsPromotedImage (AMI by name, owners=self) ──────┤      (aws-staging bakes and copies; aws-prod promotes)
    AwsNetwork (VPC, 2+ zones, security groups) ──► AwsDatabase ────┤      (RDS + both roles' passwords in SSM)
                                                └─► AwsLoadBalancer ┼──► AwsFleet: launch template,
    hosted zone (looked up) ──► ACM certificate, AwsDns (alias) ◄───┘       group ► HealthGate ► group ...

This module only wires the AWS components (components/aws/) and the neutral
ones (ImageBuild, HealthGate) from the validated settings.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.aws.database import AwsDatabase, AwsDatabaseArgs
from components.aws.dns import AwsDns, AwsDnsArgs, hosted_zone_id
from components.aws.fleet import AwsDatabaseConnection, AwsFleet, AwsFleetArgs
from components.aws.image_copies import AwsImageCopies, AwsImageCopiesArgs
from components.aws.load_balancer import AwsHealthCheck, AwsLoadBalancer, AwsLoadBalancerArgs
from components.aws.network import AwsNetwork, AwsNetworkArgs
from components.aws.promoted_image import AwsPromotedImage, AwsPromotedImageArgs
from components.common.gate import app_url, gate_url
from components.common.image_sources import image_source_hashes
from components.common.log_shipping import log_shipping_summary
from components.common.migrations import schema_revision
from components.common.naming import app_image_name, base_image_name, serving_user_name
from components.common.patch_level import read_patch_level
from components.common.serving import READINESS_PATH, drain_seconds
from components.common.tags import aws_tags
from components.health_gate import GateSettings
from components.image_build import ImageBuild, ImageBuildArgs
from config.aws import AwsSettings
from config.reader import StackSettings
from config.shared import ImageMode
from config.values import PROJECT

# What the AWS base layer starts from (images/base: Debian's own AMIs, by owner and name); part of the base's content hash.
AWS_BASE_IMAGE = "amazon-ebs:136693071363/debian-13-amd64-*"


def deploy(settings: StackSettings, project_dir: Path) -> None:
    """Create the stack's resources on AWS and export its outputs; the images' sources are under ``project_dir``."""
    app = settings.app
    assert settings.aws is not None  # load_settings sets it exactly for cloud aws
    cloud = settings.aws
    tags = aws_tags(app.name, settings.stack, cloud.tags)
    prefix = f"{app.name}-{settings.stack}"
    # What the baked image's servers migrate the schema to at start; malformed migrations stop here, before any resource.
    schema = schema_revision(project_dir) if settings.image.mode == ImageMode.BAKE else None

    network = AwsNetwork(
        "network",
        AwsNetworkArgs(region=cloud.region, cidr_block=cloud.vpc_cidr, availability_zone_count=cloud.availability_zone_count, app_port=app.port, tags=tags, name_prefix=prefix),
    )
    image, source_hash = _image(settings, cloud, project_dir, tags)

    database = AwsDatabase(
        "database",
        AwsDatabaseArgs(
            subnet_ids=network.private_subnet_ids,
            security_group_id=network.database_security_group_id,
            engine_version=settings.database.version,
            instance_class=cloud.database_class,
            allocated_storage_gb=cloud.database_storage_gb,
            multi_az=cloud.database_multi_az,
            backup_retention_days=cloud.database_backup_days,
            database_name=app.name,
            # RDS's master user owns the schema and migrates (in the image's one-shot unit only); the app serves as a
            # role with DML alone, which that unit makes (docs/security.md).
            user_name=serving_user_name(app.name),
            migration_user_name=app.name,
            migration_password=cloud.database_password,
            password_parameter_name=f"/{PROJECT}/{settings.stack}/database-password",
            migration_password_parameter_name=f"/{PROJECT}/{settings.stack}/database-migration-password",
            protect=settings.database.protect,
            tags=tags,
            final_snapshot_name=f"{prefix}-final",
        ),
    )

    # The balancer checks readiness; a leaving instance keeps its in-flight requests for the app's drain window.
    health_check = AwsHealthCheck(path=READINESS_PATH, port=app.port)
    drain = drain_seconds(check_interval_seconds=health_check.interval_seconds, response_timeout_seconds=health_check.timeout_seconds, unhealthy_threshold=health_check.unhealthy_threshold)
    fqdn = settings.dns.fqdn
    zone_id = hosted_zone_id(cloud.hosted_zone) if fqdn is not None and cloud.hosted_zone is not None else None
    load_balancer = AwsLoadBalancer(
        "load-balancer",
        AwsLoadBalancerArgs(
            vpc_id=network.vpc_id,
            subnet_ids=network.public_subnet_ids,
            security_group_id=network.load_balancer_security_group_id,
            app_port=app.port,
            health_check=health_check,
            deregistration_delay_seconds=drain,
            tags=tags,
            tls_domain=fqdn if settings.dns.tls else None,
            hosted_zone_id=zone_id,
        ),
    )
    if fqdn is not None and zone_id is not None:
        AwsDns("dns", AwsDnsArgs(zone_id=zone_id, fqdn=fqdn, load_balancer_dns_name=load_balancer.dns_name, load_balancer_zone_id=load_balancer.zone_id))

    # With TLS the certificate names the app, so the gate asks for it by name (the alias is created before the fleet).
    url = pulumi.Output.from_input(app_url(tls_name=fqdn)) if settings.dns.tls and fqdn else load_balancer.dns_name.apply(lambda name: f"http://{name}")
    fleet = AwsFleet(
        "fleet",
        AwsFleetArgs(
            stack=settings.stack,
            region=cloud.region,
            app_version=app.version,
            app_port=app.port,
            image_id=image.image_id,
            count=settings.fleet.count,
            instance_type=cloud.instance_type,
            subnet_ids=network.private_subnet_ids,
            security_group_id=network.fleet_security_group_id,
            target_group_arn=load_balancer.target_group_arn,
            database=AwsDatabaseConnection(
                host=database.host,
                port=database.port,
                name=database.database_name,
                user=database.user_name,
                password_parameter_name=database.password_parameter_name,
                password_parameter_arn=database.password_parameter_arn,
                password_version=database.password_version,
                migration_user=database.migration_user_name,
                migration_password_parameter_name=database.migration_password_parameter_name,
                migration_password_parameter_arn=database.migration_password_parameter_arn,
                migration_password_version=database.migration_password_version,
            ),
            app_secret=settings.app_secret,
            app_secret_previous=settings.app_secret_previous,
            parameter_prefix=f"/{PROJECT}/{settings.stack}",
            drain_seconds=drain,
            env=app.env,
            log_destination=settings.logs,
            gate=GateSettings(url=url.apply(gate_url), timeout_seconds=settings.fleet.health_gate_timeout),
            rollout=settings.fleet.rollout,
            batch_size=settings.fleet.batch_size,
            tags=tags,
            name_prefix=prefix,
            capacity_timeout_seconds=settings.fleet.health_gate_timeout,
        ),
    )

    pulumi.export("url", url)
    pulumi.export("loadBalancerDnsName", load_balancer.dns_name)
    pulumi.export("imageId", image.image_id)
    pulumi.export("imageName", image.image_name)
    pulumi.export("imageSourceHash", source_hash)
    pulumi.export("appVersion", app.version)
    pulumi.export("logShipping", log_shipping_summary(settings.logs))
    pulumi.export("fleetGeneration", fleet.generation)
    pulumi.export("autoScalingGroups", fleet.group_names)
    pulumi.export("databaseHost", database.host)
    if schema is not None:
        pulumi.export("schemaRevision", schema)
    if isinstance(image, ImageBuild):
        # What the image is made of, as it recorded it; a promoting stack runs the very image its baking
        # stack exported these for (that stack's outputs at the pinned imageSourceHash).
        pulumi.export("patchLevel", image.patch_level)
        pulumi.export("packageManifestSha256", image.package_manifest_sha256)


def _image(settings: StackSettings, cloud: AwsSettings, project_dir: Path, tags: dict[str, str]) -> tuple[ImageBuild | AwsPromotedImage, str]:
    """The app AMI: baked here and copied to `imageCopyRegions` (bake mode) or the one a baking stack made (promote mode), and its content hash."""
    app = settings.app
    base_hash, app_hash = image_source_hashes(project_dir, base_image=AWS_BASE_IMAGE, app_name=app.name)
    # The state of Debian's archive the base is patched to (images/base/patch-level): in its name and its hash.
    patch_level = read_patch_level(project_dir)
    if settings.image.mode == ImageMode.PROMOTE:
        assert settings.image.source_hash is not None and settings.image.source_stack is not None  # load_settings guarantees both in promote mode
        name = app_image_name(app.name, settings.image.source_stack, app.version, settings.image.source_hash)
        return AwsPromotedImage("app-image", AwsPromotedImageArgs(image_name=name, region=cloud.region)), settings.image.source_hash
    # Packer bakes in the stack's region only; the copies to other regions are AmiCopy resources
    # (AwsImageCopies), not the bake's `ami_regions`: a region added after a bake must copy the
    # existing AMI, and the bake re-runs only when the image's sources change. The base is
    # needed only here, as the app bake's source: it is never copied. (The templates still
    # declare `aws_copy_regions`, default []; deleting it would edit the image sources, which
    # name every image on both clouds, and so re-bake and replace every fleet for nothing.)
    packer_region = {"aws_region": cloud.region}
    base = ImageBuild(
        "base-image",
        ImageBuildArgs(
            template_dir="images/base",
            build="amazon-ebs.base",
            image_name=base_image_name(app.name, settings.stack, patch_level, base_hash),
            source_hash=base_hash,
            variables={"patch_level": patch_level, **packer_region},
        ),
    )
    image_name = app_image_name(app.name, settings.stack, app.version, app_hash)
    image = ImageBuild(
        "app-image",
        ImageBuildArgs(
            template_dir="images/app",
            build="amazon-ebs.app",
            image_name=image_name,
            source_hash=app_hash,
            variables={"base_image": base.image_id, "app_name": app.name, "app_version": app.version, "source_hash": app_hash, **packer_region},
            extra_triggers=[base.image_id],
        ),
    )
    if cloud.image_copy_regions:
        AwsImageCopies(
            "app-image-copies",
            AwsImageCopiesArgs(source_image_id=image.image_id, source_region=cloud.region, image_name=image_name, regions=cloud.image_copy_regions, tags=tags),
        )
    return image, app_hash
