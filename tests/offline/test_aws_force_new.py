"""The AWS provider's replacement table (offline.aws_force_new) names real resources and inputs, and covers every AWS type the program uses."""

from __future__ import annotations

import importlib
import re

import pytest

from offline.aws_force_new import AWS_FORCE_NEW
from offline.harness import run_program
from offline.providers import always_replaces


def resource_class(token: str) -> type:
    """aws:ec2/launchTemplate:LaunchTemplate -> pulumi_aws.ec2.LaunchTemplate."""
    _, module_path, name = token.split(":")
    module = module_path.split("/")[0]
    return getattr(importlib.import_module("pulumi_aws" if module == "index" else f"pulumi_aws.{module}"), name)


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("token", sorted(AWS_FORCE_NEW))
def test_every_entry_is_an_input_of_the_pulumi_resource(token):
    cls = resource_class(token)
    for path in AWS_FORCE_NEW[token]:
        top = path.split(".")[0]
        assert hasattr(cls, snake(top)), f"{token}: {top} is not a property of {cls.__name__}"


def test_every_aws_resource_the_program_creates_is_in_the_table():
    used = {resource.type for stack in ("aws-staging", "aws-prod") for resource in run_program(stack).resources if resource.type.startswith("aws:")}
    assert used <= set(AWS_FORCE_NEW), sorted(used - set(AWS_FORCE_NEW))


def test_the_tables_replacing_inputs_reach_the_mocks_and_the_plan():
    assert {"port", "protocol", "vpcId"} <= always_replaces("aws:lb/targetGroup:TargetGroup")
    assert {"storageEncrypted", "dbName", "username"} <= always_replaces("aws:rds/instance:Instance")
    assert "instanceClass" not in always_replaces("aws:rds/instance:Instance"), "RDS resizes in place (ModifyDBInstance)"
    assert always_replaces("aws:ec2/launchTemplate:LaunchTemplate") == {"name", "namePrefix"}


def test_every_ami_copy_input_but_tags_and_description_replaces_it():
    """ec2/ec2_ami_copy.go: name, source AMI and region, encryption and key are ForceNew; v6 adds `region` (its region guide)."""
    assert always_replaces("aws:ec2/amiCopy:AmiCopy") == {"name", "sourceAmiId", "sourceAmiRegion", "encrypted", "kmsKeyId", "ephemeralBlockDevices", "region"}
