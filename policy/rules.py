"""The immutability rules as pure functions over what the policy API shows of a stack.

Each rule takes `Subject`s (policy/subject.py: one resource's type, URN, properties,
the options the API shows, where its property values came from) and returns the
violations it finds, one message each, naming the resource. `policy/pack.py` turns
pulumi_policy's own arguments into subjects and reports the messages; the tests give
them the stacks the offline harness records.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from components.common.serving import READINESS_PATH
from config.rules import VERSION_PATTERN
from policy.subject import (
    APP_IMAGE_NAME,
    COMMAND,
    DATABASE_CLUSTER,
    DATABASE_DB,
    DATABASE_FIREWALL,
    DO_LOAD_BALANCER,
    DROPLET,
    FIREWALL,
    FLEET_TAG,
    HEALTH_GATE,
    IMAGE_COMPONENTS,
    INGRESS_RULE,
    LAUNCH_TEMPLATE,
    LISTENER,
    RDS_INSTANCE,
    SECRET_ENV_KEYS,
    SECURITY_GROUP,
    SERVER_IMAGE_PROPERTY,
    SSH_PORT,
    TARGET_GROUP,
    WAVE_SERVERS,
    Subject,
    covers_port,
    is_prod,
    is_whole_internet,
    known,
    of_type,
)

# ---- servers only from images this project baked ----


def image_name_violation(name: Any) -> str | None:
    """Why ``name`` is not an app image name of the naming scheme, or None."""
    if not known(name):
        return "its name is not known"
    match = APP_IMAGE_NAME.fullmatch(str(name))
    if match is None or not VERSION_PATTERN.fullmatch(match["version"]):
        return f"{name!r} is not <app>-<stack>-<version>-<12 hex digits> (components/common/naming.py)"
    return None


def _descends_from(urn: str, ancestor: str, by_urn: Mapping[str, Subject]) -> bool:
    while urn in by_urn:
        parent = by_urn[urn].parent
        if parent == ancestor:
            return True
        urn = parent or ""
    return False


def servers_run_baked_images(subjects: Sequence[Subject]) -> list[str]:
    """Every droplet and launch template takes its image from an image component of this program
    (a bake or a promotion's lookup), and that component's image is named by the scheme."""
    by_urn = {subject.urn: subject for subject in subjects}
    images = of_type(subjects, *IMAGE_COMPONENTS)
    found = []
    for server in of_type(subjects, *SERVER_IMAGE_PROPERTY):
        key = SERVER_IMAGE_PROPERTY[server.type]
        value, sources = server.props.get(key), server.property_dependencies.get(key, ())
        origin = next(
            (image for image in images if (known(value) and value == image.props.get("image_id")) or any(source == image.urn or _descends_from(source, image.urn, by_urn) for source in sources)),
            None,
        )
        if origin is None:
            found.append(f"{server.name}: its {key} {value!r} comes from no image this program bakes or promotes (a public or hand-made image)")
            continue
        problem = image_name_violation(origin.props.get("image_name"))
        if problem is not None:
            found.append(f"{server.name}: its image ({origin.name}) is not one the project baked: {problem}")
    return found


# ---- SSH closed unless allow-listed, never from the whole internet ----


def ssh_violations(subject: Subject) -> list[str]:
    """A DigitalOcean firewall or an AWS ingress rule that opens SSH to the whole internet, or to no listed address."""
    found = []
    if subject.type == FIREWALL:
        for rule in subject.props.get("inboundRules") or []:
            if rule.get("protocol") != "tcp" or not covers_port(rule.get("portRange"), SSH_PORT):
                continue
            addresses = [str(address) for address in rule.get("sourceAddresses") or []]
            if any(is_whole_internet(address) for address in addresses if known(address)):
                found.append(f"{subject.name}: SSH (port {rule.get('portRange')}) is open to the whole internet ({', '.join(addresses)}); list the addresses in sshAllowCidrs")
            elif not addresses and not (rule.get("sourceLoadBalancerUids") or rule.get("sourceTags") or rule.get("sourceDropletIds")):
                found.append(f"{subject.name}: SSH (port {rule.get('portRange')}) is open with no source listed")
    elif subject.type == INGRESS_RULE:
        protocol = str(subject.props.get("ipProtocol", ""))
        from_port, to_port = subject.props.get("fromPort"), subject.props.get("toPort")
        opens_ssh = protocol in ("-1", "all") or (protocol in ("tcp", "6") and covers_port(f"{from_port}-{to_port}", SSH_PORT))
        cidrs = [str(subject.props.get(key)) for key in ("cidrIpv4", "cidrIpv6") if known(subject.props.get(key))]
        if opens_ssh and any(is_whole_internet(cidr) for cidr in cidrs):
            found.append(f"{subject.name}: SSH (port {SSH_PORT}) is open to the whole internet ({', '.join(cidrs)})")
    elif subject.type == SECURITY_GROUP:
        for rule in subject.props.get("ingress") or []:
            protocol = str(rule.get("protocol", ""))
            opens_ssh = protocol in ("-1", "all") or covers_port(f"{rule.get('fromPort')}-{rule.get('toPort')}", SSH_PORT)
            cidrs = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]
            if opens_ssh and any(is_whole_internet(str(cidr)) for cidr in cidrs if known(cidr)):
                found.append(f"{subject.name}: an inline ingress rule opens SSH to the whole internet ({', '.join(map(str, cidrs))})")
    return found


# ---- the database reachable only from the fleet ----


def database_violations(subjects: Sequence[Subject]) -> list[str]:
    """DigitalOcean: each cluster has a database firewall whose every rule trusts the fleet tag and nothing else.
    AWS: each RDS instance is not public, and every ingress rule on its security groups admits the fleet's group only."""
    found = []
    fleet_tags = {tag.urn for tag in of_type(subjects, FLEET_TAG) if str(tag.props.get("name", "")).startswith("fleet:")}
    firewalls = of_type(subjects, DATABASE_FIREWALL)
    for cluster in of_type(subjects, DATABASE_CLUSTER):
        guarding = [firewall for firewall in firewalls if cluster.urn in firewall.property_dependencies.get("clusterId", ())]
        if not guarding:
            found.append(f"{cluster.name}: no database firewall: any address may try to connect")
        for firewall in guarding:
            rules = firewall.props.get("rules") or []
            sources = set(firewall.property_dependencies.get("rules", ()))
            if not rules:
                found.append(f"{firewall.name}: no rule")
            for rule in rules:
                if rule.get("type") != "tag":
                    found.append(f"{firewall.name}: trusts {rule.get('type')} {rule.get('value')!r}, not the fleet tag")
                elif known(rule.get("value")) and not str(rule.get("value")).startswith("fleet:"):
                    found.append(f"{firewall.name}: trusts tag {rule.get('value')!r}, not the fleet tag (fleet:<app>:<stack>)")
            if rules and not sources & fleet_tags:
                found.append(f"{firewall.name}: its rules do not come from the fleet's tag resource")

    fleet_groups = {group for template in of_type(subjects, LAUNCH_TEMPLATE) for group in template.property_dependencies.get("networkInterfaces", ())}
    for instance in of_type(subjects, RDS_INSTANCE):
        if instance.props.get("publiclyAccessible") is not False:
            found.append(f"{instance.name}: publiclyAccessible is not false")
        database_groups = set(instance.property_dependencies.get("vpcSecurityGroupIds", ()))
        if not database_groups:
            found.append(f"{instance.name}: no security group of this program (the VPC's default group would apply)")
        for rule in of_type(subjects, INGRESS_RULE):
            if not database_groups & set(rule.property_dependencies.get("securityGroupId", ())):
                continue
            if any(known(rule.props.get(key)) for key in ("cidrIpv4", "cidrIpv6", "prefixListId")):
                found.append(f"{rule.name}: admits addresses to the database's security group, not the fleet's group")
            elif not fleet_groups & set(rule.property_dependencies.get("referencedSecurityGroupId", ())):
                found.append(f"{rule.name}: admits a security group to the database that is not the fleet's")
    return found


# ---- prod's database protected ----


def protection_violations(subject: Subject) -> list[str]:
    """In a prod stack the database (DigitalOcean's cluster and database, RDS's instance) carries `protect`, and RDS its deletion protection."""
    if subject.type not in (DATABASE_CLUSTER, DATABASE_DB, RDS_INSTANCE) or not is_prod(subject.stack):
        return []
    found = []
    if not subject.protect:
        found.append(f"{subject.name}: stack {subject.stack} is prod, and its database is not protected (protect; dbProtect: true)")
    if subject.type == RDS_INSTANCE and subject.props.get("deletionProtection") is not True:
        found.append(f"{subject.name}: stack {subject.stack} is prod, and RDS deletion protection is off")
    return found


# ---- the load balancer checks readiness, and redirects to HTTPS when TLS is on ----


def readiness_violations(subject: Subject) -> list[str]:
    """The balancer's health check asks the readiness path (components/common/serving.py)."""
    key = {DO_LOAD_BALANCER: "healthcheck", TARGET_GROUP: "healthCheck"}.get(subject.type)
    if key is None:
        return []
    path = (subject.props.get(key) or {}).get("path")
    if path != READINESS_PATH:
        return [f"{subject.name}: the health check asks {path!r}, not the readiness path {READINESS_PATH!r}"]
    return []


def https_redirect_violations(subjects: Sequence[Subject]) -> list[str]:
    """A balancer that serves HTTPS sends plain HTTP to HTTPS: DigitalOcean's `redirectHttpToHttps`, an ALB's port-80 listener a redirect."""
    found = []
    for balancer in of_type(subjects, DO_LOAD_BALANCER):
        serves_https = any(rule.get("entryProtocol") == "https" for rule in balancer.props.get("forwardingRules") or [])
        if serves_https and balancer.props.get("redirectHttpToHttps") is not True:
            found.append(f"{balancer.name}: serves HTTPS but does not redirect HTTP to it (redirectHttpToHttps)")
    listeners = of_type(subjects, LISTENER)

    def balancerof_type(listener: Subject) -> tuple[str, ...]:
        return tuple(listener.property_dependencies.get("loadBalancerArn", ()))

    for listener in listeners:
        if str(listener.props.get("protocol")) != "HTTP":
            continue
        if not any(str(other.props.get("protocol")) == "HTTPS" and balancerof_type(other) == balancerof_type(listener) for other in listeners):
            continue
        actions = listener.props.get("defaultActions") or []
        if not actions or not all(action.get("type") == "redirect" and (action.get("redirect") or {}).get("protocol") == "HTTPS" for action in actions):
            found.append(f"{listener.name}: the balancer serves HTTPS, and this HTTP listener does not redirect to it")
    return found


# ---- user-data secret ----


def _decoded(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value


def user_data_violations(subject: Subject) -> list[str]:
    """A droplet's user-data (which holds the database password) is kept secret in the state: `additional_secret_outputs`.
    A launch template's (readable with ec2:DescribeLaunchTemplateVersions) holds no secret value at all, only parameter names."""
    if subject.type == DROPLET:
        if known(subject.props.get("userData")) and "userData" not in subject.additional_secret_outputs:
            return [f"{subject.name}: userData (the database password, the app secret) is not in additional_secret_outputs"]
        return []
    if subject.type == LAUNCH_TEMPLATE and known(subject.props.get("userData")):
        text = _decoded(str(subject.props["userData"]))
        leaked = [key for key in SECRET_ENV_KEYS if re.search(rf"^\s*{key}=\S", text, re.MULTILINE)]
        if leaked:
            return [f"{subject.name}: user-data holds secret values ({', '.join(leaked)}); name their SSM parameters instead"]
    return []


# ---- the rollout gate in front of the next wave ----


def gate_violations(subjects: Sequence[Subject]) -> list[str]:
    """Every wave's servers are watched by a health gate (a gate command whose inputs come from them), and each later
    wave depends on the previous wave's gate: no two waves start together. Servers are created before the old ones go."""
    by_urn = {subject.urn: subject for subject in subjects}
    gates = [command for command in of_type(subjects, COMMAND) if HEALTH_GATE in command.type_chain]
    servers = of_type(subjects, *WAVE_SERVERS)
    found = []

    def gates_before(urn: str, seen: set[str]) -> set[str]:
        """The gates ``urn`` waits for, directly or through what it depends on."""
        result: set[str] = set()
        for dependency in by_urn[urn].dependencies if urn in by_urn else ():
            if dependency in seen:
                continue
            seen.add(dependency)
            if any(gate.urn == dependency for gate in gates):
                result.add(dependency)
            result |= gates_before(dependency, seen)
        return result

    watched_by: dict[str, str] = {}
    for server in servers:
        watching = [gate for gate in gates if any(server.urn in sources for sources in gate.property_dependencies.values())]
        if not watching:
            found.append(f"{server.name}: no health gate waits for it")
            continue
        watched_by[server.urn] = watching[0].urn
        if server.delete_before_replace:
            found.append(f"{server.name}: delete_before_replace: the old server would go before its replacement passed the gate")
    waves: dict[int, set[str]] = {}
    for urn, gate in watched_by.items():
        waves.setdefault(len(gates_before(urn, set())), set()).add(gate)
    for depth, wave_gates in sorted(waves.items()):
        if len(wave_gates) > 1:
            names = sorted(by_urn[gate].name for gate in wave_gates)
            found.append(f"waves gated by {', '.join(names)} start together: each wave after the first must depend on the previous wave's gate (wave {depth})")
    return found


RULES: Mapping[str, Callable[..., list[str]]] = {
    "servers-run-baked-images": servers_run_baked_images,
    "ssh-closed": ssh_violations,
    "database-only-from-fleet": database_violations,
    "prod-database-protected": protection_violations,
    "load-balancer-checks-readiness": readiness_violations,
    "load-balancer-redirects-to-https": https_redirect_violations,
    "user-data-secret": user_data_violations,
    "gate-before-next-wave": gate_violations,
}
