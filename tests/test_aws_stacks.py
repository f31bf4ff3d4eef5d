"""The AWS stacks (aws-staging bakes, aws-prod promotes) as the real program registers them under the mocks."""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from offline.harness import TEST_SECRET_PREFIX, StackRun, run_program

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GROUP = "aws:autoscaling/group:Group"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
RDS = "aws:rds/instance:Instance"
PARAMETER = "aws:ssm/parameter:Parameter"
COMMAND = "command:local:Command"


@pytest.fixture(scope="module")
def aws_staging() -> StackRun:
    return run_program("aws-staging")


@pytest.fixture(scope="module")
def aws_prod() -> StackRun:
    return run_program("aws-prod")


@pytest.fixture(scope="module")
def runs(aws_staging: StackRun, aws_prod: StackRun) -> dict[str, StackRun]:
    return {"aws-staging": aws_staging, "aws-prod": aws_prod}


def user_data(run: StackRun) -> dict[str, Any]:
    (template,) = run.of_type(LAUNCH_TEMPLATE)
    return yaml.safe_load(base64.b64decode(template.inputs["userData"]).decode())


def env_file(run: StackRun) -> str:
    return next(entry["content"] for entry in user_data(run)["write_files"] if entry["path"] == "/etc/webapp/app.env")


def type_counts(run: StackRun) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in run.resources:
        counts[resource.type] = counts.get(resource.type, 0) + 1
    return counts


def test_staging_bakes_and_prod_promotes_on_aws(aws_staging, aws_prod):
    staging_bakes = [c.inputs["create"] for c in aws_staging.of_type(COMMAND) if "packer" in c.inputs["create"]]
    assert len(staging_bakes) == 2 and all("-only=amazon-ebs." in create for create in staging_bakes)
    assert not [c for c in aws_prod.of_type(COMMAND) if "packer" in c.inputs["create"]], "prod must never bake"
    assert aws_prod.outputs["imageName"] == f"hello-aws-staging-1.4.2-{aws_prod.config['immutable-web:imageSourceHash']}"
    assert aws_prod.outputs["imageId"].startswith("ami-")
    (template,) = aws_prod.of_type(LAUNCH_TEMPLATE)
    assert template.inputs["imageId"] == aws_prod.outputs["imageId"]
    (template,) = aws_staging.of_type(LAUNCH_TEMPLATE)
    assert template.inputs["imageId"] == aws_staging.outputs["imageId"]
    # The baking stack says what schema its image's servers migrate to; the promoting one cannot know from here.
    assert aws_staging.outputs["schemaRevision"] == "0001" and "schemaRevision" not in aws_prod.outputs


def test_the_full_resource_sets(aws_staging, aws_prod):
    staging, prod = type_counts(aws_staging), type_counts(aws_prod)
    # Two zones in staging, three in prod: a public and a private subnet each.
    assert staging["aws:ec2/subnet:Subnet"] == 4 and prod["aws:ec2/subnet:Subnet"] == 6
    assert staging[GROUP] == 1, "all-at-once: one group"
    assert prod[GROUP] == 2, "canary: one group for the canary, one for the rest"
    for counts in (staging, prod):
        assert counts[LAUNCH_TEMPLATE] == 1 and counts[RDS] == 1 and counts[PARAMETER] == 3
        assert counts["aws:lb/loadBalancer:LoadBalancer"] == 1 and counts["aws:lb/targetGroup:TargetGroup"] == 1
        assert counts["aws:ec2/vpcEndpoint:VpcEndpoint"] == 1
        assert "aws:ec2/natGateway:NatGateway" not in counts and "aws:ec2/eip:Eip" not in counts
    assert "aws:acm/certificate:Certificate" not in staging and prod["aws:acm/certificate:Certificate"] == 1
    assert prod["aws:route53/record:Record"] == 2, "the alias and the certificate's validation record"
    assert "aws:route53/record:Record" not in staging


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_launch_template_is_locked_down(stack, runs):
    (template,) = runs[stack].of_type(LAUNCH_TEMPLATE)
    metadata = template.inputs["metadataOptions"]
    assert (metadata["httpTokens"], metadata["httpPutResponseHopLimit"], metadata["httpEndpoint"]) == ("required", 1, "enabled")
    (volume,) = template.inputs["blockDeviceMappings"]
    assert volume["ebs"]["encrypted"] == "true"
    (interface,) = template.inputs["networkInterfaces"]
    assert interface["associatePublicIpAddress"] == "false"
    fleet_group = runs[stack].named("network-fleet")
    assert interface["securityGroups"] == [fleet_group.id]
    assert "keyName" not in template.inputs, "no SSH key on an immutable fleet"
    assert template.options["replace_on_changes"] == ["*"] and not template.options["delete_before_replace"]


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_each_wave_is_a_group_created_before_the_old_one_goes_and_counted_only_when_healthy(stack, runs):
    run = runs[stack]
    groups = sorted(run.of_type(GROUP), key=lambda group: group.name)
    assert sum(group.inputs["desiredCapacity"] for group in groups) == int(run.config["immutable-web:fleetCount"])
    target_group = run.named("load-balancer-targets")
    private = {run.named(f"network-private-{index}").id for index in range(int(run.config["immutable-web:azCount"]))}
    for group in groups:
        size = group.inputs["desiredCapacity"]
        assert group.inputs["minSize"] == group.inputs["maxSize"] == size
        assert group.inputs["waitForElbCapacity"] == size, f"{group.name} must count as created only once its instances are healthy"
        assert group.inputs["targetGroupArns"] == [target_group.id]
        assert set(group.inputs["vpcZoneIdentifiers"]) == private
        assert group.inputs["healthCheckType"] == "ELB"
        assert "name" not in group.inputs, f"{group.name}: a fixed name would collide with the next generation"
        assert group.options["replace_on_changes"] == ["*"] and not group.options["delete_before_replace"]
    # Each later wave waits for the previous wave's gate.
    for earlier, later in itertools.pairwise(groups):
        gate = run.named(f"fleet-gate-{earlier.name.rsplit('-', 1)[1]}-wait")
        assert gate.urn in later.options["dependencies"], f"{later.name} must wait for {gate.name}"


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_gates_wait_for_this_generation_only(stack, runs):
    run = runs[stack]
    generation = run.outputs["fleetGeneration"]
    assert f'APP_GENERATION="{generation}"' in env_file(run)
    gates = sorted((c for c in run.of_type(COMMAND) if "health_gate.py" in c.inputs["create"]), key=lambda c: c.name)
    groups = sorted(run.of_type(GROUP), key=lambda group: group.name)
    assert len(gates) == len(groups)
    expected = 0
    for gate, group in zip(gates, groups, strict=True):
        expected += group.inputs["desiredCapacity"]
        assert f"--expect-generation {generation} --expect-count {expected}" in gate.inputs["create"], gate.inputs["create"]
        assert gate.inputs["triggers"] == [group.outputs["arn"]], "a new group re-runs its gate"


def _rules(run: StackRun, typ: str) -> Iterator[tuple[str, dict[str, Any]]]:
    groups = {group.id: group.name for group in run.of_type(SECURITY_GROUP)}
    for rule in run.of_type(typ):
        yield groups[rule.inputs["securityGroupId"]], rule.inputs


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_only_the_load_balancer_faces_the_internet_and_nothing_opens_ssh(stack, runs):
    run = runs[stack]
    groups = {group.id: group.name for group in run.of_type(SECURITY_GROUP)}
    port = int(run.config["immutable-web:appPort"])
    for group, rule in _rules(run, INGRESS):
        assert not (rule.get("fromPort", 0) <= 22 <= rule.get("toPort", 65535)), f"{group} opens SSH"
        if rule.get("cidrIpv4") or rule.get("cidrIpv6"):
            assert group == "network-load-balancer" and rule["fromPort"] in (80, 443), f"{group} admits {rule}"
    ingress = {(group, groups.get(rule.get("referencedSecurityGroupId", ""), ""), rule["fromPort"]) for group, rule in _rules(run, INGRESS) if rule.get("referencedSecurityGroupId")}
    assert ingress == {
        ("network-fleet", "network-load-balancer", port),
        ("network-database", "network-fleet", 5432),
        ("network-endpoints", "network-fleet", 443),
    }
    egress = {(group, groups[rule["referencedSecurityGroupId"]], rule["fromPort"]) for group, rule in _rules(run, EGRESS)}
    assert egress == {("network-load-balancer", "network-fleet", port), ("network-fleet", "network-database", 5432), ("network-fleet", "network-endpoints", 443)}
    for rule in run.of_type(EGRESS):
        assert not rule.inputs.get("cidrIpv4") and not rule.inputs.get("cidrIpv6"), "no egress to the internet"


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_private_subnets_have_no_route_out(stack, runs):
    run = runs[stack]
    private_routes = run.named("network-private-routes")
    assert not private_routes.inputs.get("routes"), "the fleet and the database reach nothing outside the VPC"
    vpc = ipaddress.ip_network(run.named("network-vpc").inputs["cidrBlock"])
    subnets = [ipaddress.ip_network(subnet.inputs["cidrBlock"]) for subnet in run.of_type("aws:ec2/subnet:Subnet")]
    assert all(subnet.subnet_of(vpc) for subnet in subnets)  # type: ignore[arg-type]
    assert len({str(subnet) for subnet in subnets}) == len(subnets)
    assert len({subnet.inputs["availabilityZone"] for subnet in run.of_type("aws:ec2/subnet:Subnet")}) == int(run.config["immutable-web:azCount"])


def _plain_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        if value and len(value) % 4 == 0:
            with contextlib.suppress(ValueError):
                yield base64.b64decode(value, validate=True).decode()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _plain_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _plain_strings(item)


def _secret_holders(run: StackRun, secrets: list[str]) -> set[tuple[str, str]]:
    """Each (resource, input) holding one of ``secrets``, after checking that each is a secret input and no plain output holds one."""
    for resource in run.resources:
        for key, value in resource.inputs.items():
            if key in resource.secret_inputs:
                continue
            for text in _plain_strings(value):
                assert not any(secret in text for secret in secrets), f"{resource.name}.{key} holds a secret in plain text"
    for key, value in run.outputs.items():
        if key not in run.secret_outputs:
            assert not any(secret in text for text in _plain_strings(value) for secret in secrets), key
    return {(r.name, key) for r in run.resources for key, value in r.inputs.items() if any(secret in text for text in _plain_strings(value) for secret in secrets)}


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_no_secret_in_plain_text_anywhere(stack, runs):
    run = runs[stack]
    secrets = [run.config[f"immutable-web:{key}"] for key in ("dbPassword", "appSecret")]
    assert all(secret.startswith(TEST_SECRET_PREFIX) for secret in secrets)
    # Where they are: RDS's password, its SecureString for the migration and the app secret's, each secret.
    holders = _secret_holders(run, secrets)
    assert holders == {("database-postgres", "password"), ("database-migration-password", "value"), ("fleet-app-secret", "value")}
    # The serving role's password, derived from the master's: its own SecureString, secret, and nowhere else either.
    serving = run.named("database-password")
    assert "value" in serving.secret_inputs and serving.inputs["name"] == f"/immutable-web/{stack}/database-password"
    assert _secret_holders(run, [serving.inputs["value"]]) == {("database-password", "value")}
    for name, key in holders:
        assert key in run.named(name).secret_inputs, f"{name}.{key} must be secret"
    env = env_file(run)
    assert "DATABASE_PASSWORD=" not in env and "APP_SECRET=" not in env
    assert f'DATABASE_PASSWORD_PARAMETER="/immutable-web/{stack}/database-password"' in env
    assert f'APP_SECRET_PARAMETER="/immutable-web/{stack}/app-secret"' in env


def test_a_previous_app_secret_is_a_third_secure_string_and_nowhere_else():
    run = run_program("aws-staging", secrets={"appSecretPrevious": "old-secret-in-rotation"})
    assert _secret_holders(run, ["old-secret-in-rotation"]) == {("fleet-app-secret-previous", "value")}
    assert "value" in run.named("fleet-app-secret-previous").secret_inputs
    env = env_file(run)
    assert "APP_SECRET_PREVIOUS=" not in env and 'APP_SECRET_PREVIOUS_PARAMETER="/immutable-web/aws-staging/app-secret-previous"' in env
    policy = json.loads(run.named("fleet-read-parameters").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == sorted(parameter.outputs["arn"] for parameter in run.of_type(PARAMETER))
    assert len(run.of_type(PARAMETER)) == 4


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_the_instance_role_reads_only_the_stacks_parameters(stack, runs):
    run = runs[stack]
    policy = json.loads(run.named("fleet-read-parameters").inputs["policy"])
    (statement,) = policy["Statement"]
    arns = sorted(parameter.outputs["arn"] for parameter in run.of_type(PARAMETER))
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Allow", "ssm:GetParameter", arns)
    for parameter in run.of_type(PARAMETER):
        assert parameter.inputs["type"] == "SecureString"


def test_prod_database_is_protected_multi_az_and_keeps_a_final_snapshot(aws_staging, aws_prod):
    prod, staging = aws_prod.named("database-postgres"), aws_staging.named("database-postgres")
    for database in (prod, staging):
        assert database.inputs["storageEncrypted"] is True and database.inputs["publiclyAccessible"] is False
        assert database.inputs["vpcSecurityGroupIds"] == [aws_prod.named("network-database").id if database is prod else aws_staging.named("network-database").id]
    assert prod.options["protect"] is True and prod.inputs["deletionProtection"] is True and prod.inputs["multiAz"] is True
    assert prod.inputs["skipFinalSnapshot"] is False and prod.inputs["finalSnapshotIdentifier"] == "hello-aws-prod-final"
    assert prod.inputs["backupRetentionPeriod"] == 14
    assert not staging.options["protect"] and staging.inputs["skipFinalSnapshot"] is True
    parameters = aws_prod.named("database-parameters").inputs["parameters"]
    assert {"name": "rds.force_ssl", "value": "1"}.items() <= parameters[0].items()
    assert 'DATABASE_SSLMODE="verify-full"' in env_file(aws_prod)


def test_prod_serves_https_with_a_dns_validated_certificate_and_redirects_http(aws_prod):
    https, http = aws_prod.named("load-balancer-https"), aws_prod.named("load-balancer-http")
    validation = aws_prod.named("load-balancer-certificate-validation")
    assert https.inputs["protocol"] == "HTTPS" and https.inputs["certificateArn"] == aws_prod.named("load-balancer-certificate").id
    assert validation.urn in https.options["dependencies"], "the HTTPS listener waits until ACM has issued the certificate"
    assert http.inputs["defaultActions"][0]["type"] == "redirect" and http.inputs["defaultActions"][0]["redirect"]["protocol"] == "HTTPS"
    alias = aws_prod.named("dns-alias")
    assert alias.inputs["name"] == "www.example.com" and alias.inputs["aliases"][0]["name"] == aws_prod.outputs["loadBalancerDnsName"]
    assert aws_prod.outputs["url"] == "https://www.example.com"


def test_target_group_checks_readiness_and_drains_for_the_apps_window(aws_staging):
    group = aws_staging.named("load-balancer-targets")
    check = group.inputs["healthCheck"]
    assert (check["path"], check["interval"], check["timeout"], check["healthyThreshold"], check["unhealthyThreshold"]) == ("/readyz", 5, 3, 2, 3)
    assert group.inputs["deregistrationDelay"] == 20
    assert 'APP_DRAIN_SECONDS="20"' in env_file(aws_staging)


def test_everything_taggable_carries_the_stack_tags(aws_staging):
    untaggable = {"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"}
    for resource in aws_staging.resources:
        if resource.custom and resource.type.startswith("aws:") and "tags" in resource.inputs and resource.type not in untaggable:
            tags = resource.inputs["tags"]
            if isinstance(tags, list):  # auto-scaling groups: key, value, propagate_at_launch
                tags = {tag["key"]: tag["value"] for tag in tags}
            assert {"app": "hello", "stack": "aws-staging", "managed-by": "pulumi", "team": "web"}.items() <= tags.items(), resource.name


AMI_COPY = "aws:ec2/amiCopy:AmiCopy"


@pytest.fixture(scope="module")
def aws_staging_copying() -> StackRun:
    """aws-staging with a promoting stack in us-west-2 to serve."""
    return run_program("aws-staging", config_overrides={"imageCopyRegions": ["us-west-2"]})


def test_a_copy_region_gets_one_retained_copy_of_the_baked_ami_under_its_name(aws_staging_copying):
    run = aws_staging_copying
    (copy,) = run.of_type(AMI_COPY)
    assert copy.inputs["region"] == "us-west-2" and copy.outputs["arn"].startswith("arn:aws:ec2:us-west-2::image/ami-")
    assert copy.inputs["sourceAmiId"] == run.outputs["imageId"] and copy.inputs["sourceAmiRegion"] == run.config["aws:region"], "the copy is of the AMI this stack just baked, where it baked it"
    assert copy.inputs["name"] == run.outputs["imageName"], "aws-prod looks the AMI up by the baked name"
    assert copy.options["retain_on_delete"] is True, "a replaced or dropped copy must stay: a rollback or another stack may still need it"
    assert copy.parent_name == "app-image-copies" and run.named("app-image-copies").type == "immutable-web:aws:ImageCopies"
    assert {"app": "hello", "stack": "aws-staging", "managed-by": "pulumi", "team": "web", "Name": run.outputs["imageName"]}.items() <= copy.inputs["tags"].items()
    bake = run.named("app-image-packer")
    assert bake.urn in copy.options["dependencies"], "the copy waits for the bake"
    assert not any("aws_copy_regions" in key for command in run.of_type(COMMAND) for key in command.inputs.get("environment", {})), "Packer copies nothing: the AmiCopy does"


def test_no_copy_region_no_copy_and_a_promoting_stack_never_copies(aws_staging, aws_prod):
    assert aws_staging.config.get("immutable-web:imageCopyRegions", "[]") == "[]", "aws-staging's stack file lists no copy region"
    assert aws_staging.of_type(AMI_COPY) == [] and aws_prod.of_type(AMI_COPY) == []


@pytest.mark.parametrize("stack", ["aws-staging", "aws-prod"])
def test_the_app_serves_as_its_own_role_and_only_the_migration_unit_is_told_the_master_user(stack, runs):
    """RDS's master user (the app's name) owns the schema; the app's env names the serving role and its password's parameter,
    migration.env (root only, for webapp-migrate.service) the master user and its password's parameter; the role may read both."""
    run = runs[stack]
    files = {entry["path"]: entry for entry in user_data(run)["write_files"]}
    assert sorted(files) == ["/etc/webapp/app.env", "/etc/webapp/migration.env"]
    assert run.named("database-postgres").inputs["username"] == "hello"
    env = files["/etc/webapp/app.env"]["content"]
    assert 'DATABASE_USER="hello_serving"\n' in env and "DATABASE_MIGRATION" not in env
    migration = files["/etc/webapp/migration.env"]
    assert (migration["owner"], migration["permissions"]) == ("root:root", "0600")
    assert migration["content"] == (
        'DATABASE_MIGRATION_MANAGES_USER="true"\n'
        f'DATABASE_MIGRATION_PASSWORD_PARAMETER="/immutable-web/{stack}/database-migration-password"\n'
        'DATABASE_MIGRATION_PASSWORD_VERSION="1"\n'
        'DATABASE_MIGRATION_USER="hello"\n'
    )
    (statement,) = json.loads(run.named("fleet-read-parameters").inputs["policy"])["Statement"]
    assert run.named("database-migration-password").outputs["arn"] in statement["Resource"]
    assert run.named("database-password").outputs["arn"] in statement["Resource"]
