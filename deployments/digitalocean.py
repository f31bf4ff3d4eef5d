"""The DigitalOcean deployment: bake (or promote) an image, replace the fleet, keep state outside.

    config ──► ImageBuild (base) ──► ImageBuild (app) ──┐      (staging bakes;
               or PromotedImage (look up by name) ──────┤       prod promotes)
    Network (VPC + fleet tag) ──► Database ─────────────┤
                              └─► LoadBalancer ─────────┼──► AppFleet: wave ► HealthGate ► wave ► HealthGate ...
    DnsZone (if managed) ──► LB certificate, Dns record │
                                  Dns (A record ► LB) ◄─┘

This module only wires the DigitalOcean components (components/digitalocean/)
and the neutral ones (ImageBuild, HealthGate) from the validated settings.
"""

from functools import partial
from pathlib import Path

import pulumi

from components.common.gate import app_url, gate_resolve, gate_url
from components.common.image_sources import image_source_hashes
from components.common.log_shipping import log_shipping_summary
from components.common.migrations import schema_revision
from components.common.naming import app_image_name, base_image_name, fleet_tag_name
from components.common.patch_level import read_patch_level
from components.common.serving import READINESS_PATH, drain_seconds
from components.common.tags import common_tags
from components.digitalocean.app_fleet import AppFleet, AppFleetArgs, DatabaseConnection
from components.digitalocean.database import Database, DatabaseArgs
from components.digitalocean.dns import Dns, DnsArgs, DnsZone, DnsZoneArgs
from components.digitalocean.load_balancer import HealthCheck, LoadBalancer, LoadBalancerArgs
from components.digitalocean.network import Network, NetworkArgs
from components.digitalocean.promoted_image import PromotedImage, PromotedImageArgs
from components.health_gate import GateSettings
from components.image_build import ImageBuild, ImageBuildArgs
from config.reader import StackSettings
from config.shared import ImageMode


def deploy(settings: StackSettings, project_dir: Path) -> None:
    """Create the stack's resources on DigitalOcean and export its outputs; the images' sources are under ``project_dir``."""
    app = settings.app
    assert settings.digitalocean is not None  # load_settings sets it exactly for cloud digitalocean
    do_settings = settings.digitalocean
    tags = common_tags(app.name, settings.stack, do_settings.tags)
    # What the baked image's servers migrate the schema to at start; malformed migrations stop here, before any resource.
    schema = schema_revision(project_dir) if settings.image.mode == ImageMode.BAKE else None

    network = Network(
        "network",
        NetworkArgs(region=do_settings.region, fleet_tag=fleet_tag_name(app.name, settings.stack), description=f"{app.name} {settings.stack}"),
    )

    # Each layer's content hash covers what its template uses (components.common.image_sources); the app's, also the base it builds on.
    base_hash, app_hash = image_source_hashes(project_dir, base_image=do_settings.base_image, app_name=app.name)
    # The state of Debian's archive the base is patched to (images/base/patch-level): in its name and its hash.
    patch_level = read_patch_level(project_dir)
    if settings.image.mode == ImageMode.BAKE:
        packer_region = {"region": do_settings.region, "snapshot_regions": [do_settings.region, *do_settings.image_copy_regions], "size": "s-1vcpu-1gb"}
        base = ImageBuild(
            "base-image",
            ImageBuildArgs(
                template_dir="images/base",
                build="digitalocean.base",
                image_name=base_image_name(app.name, settings.stack, patch_level, base_hash),
                source_hash=base_hash,
                variables={"source_image": do_settings.base_image, "patch_level": patch_level, **packer_region},
            ),
        )
        source_hash = app_hash
        image: ImageBuild | PromotedImage = ImageBuild(
            "app-image",
            ImageBuildArgs(
                template_dir="images/app",
                build="digitalocean.app",
                image_name=app_image_name(app.name, settings.stack, app.version, source_hash),
                source_hash=source_hash,
                variables={"base_image": base.image_id, "app_name": app.name, "app_version": app.version, "source_hash": source_hash, **packer_region},
                extra_triggers=[base.image_id],
            ),
        )
    else:
        assert settings.image.source_hash is not None and settings.image.source_stack is not None  # load_settings guarantees both in promote mode
        source_hash = settings.image.source_hash
        image = PromotedImage(
            "app-image",
            PromotedImageArgs(image_name=app_image_name(app.name, settings.image.source_stack, app.version, source_hash), region=do_settings.region),
        )

    database = Database(
        "database",
        DatabaseArgs(
            region=do_settings.region,
            vpc_id=network.vpc_id,
            fleet_tag=network.fleet_tag,
            version=settings.database.version,
            size=do_settings.database_size,
            node_count=do_settings.database_node_count,
            database_name=app.name,
            user_name=app.name,
            protect=settings.database.protect,
            tags=tags,
        ),
    )

    # The zone before the balancer: DigitalOcean issues the certificate only for a zone it serves.
    zone = DnsZone("dns", DnsZoneArgs(domain=settings.dns.domain)).zone if settings.dns.manage_domain and settings.dns.domain else None

    # The balancer checks readiness (no database: a database blip never empties the pool).
    health_check = HealthCheck(path=READINESS_PATH, port=app.port)
    load_balancer = LoadBalancer(
        "load-balancer",
        LoadBalancerArgs(
            region=do_settings.region,
            vpc_id=network.vpc_id,
            droplet_tag=network.fleet_tag,
            app_port=app.port,
            health_check=health_check,
            tls_domain=settings.dns.fqdn if settings.dns.tls else None,
            tls_zone=zone,
        ),
    )

    fqdn = settings.dns.fqdn
    if settings.dns.domain is not None:
        Dns("dns", DnsArgs(domain=settings.dns.domain, record=settings.dns.record, ip=load_balancer.ip, ttl=settings.dns.ttl, zone=zone))

    if settings.dns.tls and fqdn is not None:
        url = pulumi.Output.from_input(app_url(tls_name=fqdn))
        resolve: pulumi.Output[str] | None = load_balancer.ip.apply(partial(gate_resolve, fqdn))
    else:
        url = load_balancer.ip.apply(lambda ip: app_url(ip=ip))
        resolve = None

    fleet = AppFleet(
        "fleet",
        AppFleetArgs(
            app_name=app.name,
            stack=settings.stack,
            app_version=app.version,
            source_hash=source_hash,
            image_id=image.image_id,
            count=settings.fleet.count,
            size=do_settings.droplet_size,
            region=do_settings.region,
            vpc_id=network.vpc_id,
            fleet_tag=network.fleet_tag,
            load_balancer_id=load_balancer.load_balancer_id,
            app_port=app.port,
            database=DatabaseConnection(
                host=database.host,
                port=database.port,
                name=database.database_name,
                user=database.user_name,
                password=database.password,
                ca_certificate=database.ca_certificate,
                migration_user=database.migration_user,
                migration_password=database.migration_password,
            ),
            app_secret=settings.app_secret,
            app_secret_previous=settings.app_secret_previous,
            drain_seconds=drain_seconds(
                check_interval_seconds=health_check.check_interval_seconds,
                response_timeout_seconds=health_check.response_timeout_seconds,
                unhealthy_threshold=health_check.unhealthy_threshold,
            ),
            # The gate checks the deep health path (database, version, instance id) through the balancer.
            gate=GateSettings(url=url.apply(gate_url), timeout_seconds=settings.fleet.health_gate_timeout, resolve=resolve),
            rollout=settings.fleet.rollout,
            batch_size=settings.fleet.batch_size,
            env=app.env,
            log_destination=settings.logs,
            tags=tags,
            ssh_keys=do_settings.ssh_keys,
            ssh_allow_cidrs=settings.fleet.ssh_allow_cidrs,
        ),
    )

    pulumi.export("url", url)
    pulumi.export("loadBalancerIp", load_balancer.ip)
    pulumi.export("imageId", image.image_id)
    pulumi.export("imageName", image.image_name)
    pulumi.export("imageSourceHash", source_hash)
    pulumi.export("appVersion", app.version)
    pulumi.export("logShipping", log_shipping_summary(settings.logs))
    pulumi.export("dropletNames", fleet.droplet_names)
    pulumi.export("dropletIds", fleet.droplet_ids)
    pulumi.export("databaseHost", database.host)
    if schema is not None:
        pulumi.export("schemaRevision", schema)
    if isinstance(image, ImageBuild):
        # What the image is made of, as it recorded it; a promoting stack runs the very image its baking
        # stack exported these for (that stack's outputs at the pinned imageSourceHash).
        pulumi.export("patchLevel", image.patch_level)
        pulumi.export("packageManifestSha256", image.package_manifest_sha256)
