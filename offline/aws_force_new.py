"""Replacement-forcing inputs of the AWS resources the AWS target uses.

Source read: hashicorp/terraform-provider-aws (the provider pulumi-aws 7.x bridges).

* Line numbers ("file:line") refer to commit
  ``1a5174b137bbdefdebd6e5c2fc033f829057e283`` (main, 2024-04-17, CHANGELOG
  "5.46.0 (Unreleased)"), paths relative to ``internal/service/``. That is the
  newest full tree that could be read locally; it predates v6.0.0.
* The v6-era files the search index returned were then read too. They were
  checked for these resources: ec2/vpc_subnet.go @00cda125a19d (2026), ec2/vpc_endpoint.go
  @008db85aad5e (2026), elbv2/load_balancer.go @00edc94be7a8 (v6.x, has @V60SDKv2Fix),
  elbv2/target_group.go @013cfb4cddc9 (preIdentityVersion v6.3.0), acm/certificate.go
  @01661ea3cbe6 (2026), ssm/parameter.go @0073593e7d69 (preIdentityVersion v6.7.0),
  route53/record.go @00655c1681ea (2026). Entries that exist only
  there are marked "v6 @<commit>" and have no line number. For those seven files
  the v6 ForceNew sets match 5.46 except where such entries are listed.
* Not re-checked against v6, so taken from 5.46 only: vpc_.go, vpc_internet_gateway.go,
  vpc_route*.go, vpc_security_group*.go, ec2_launch_template.go, autoscaling/group.go,
  elbv2/listener.go, acm/certificate_validation.go, rds/*.go, iam/*.go, ec2/ec2_ami_copy.go
  (its `region`, which v6 adds to most regional resources, is from the v6 region guide). The index's
  default copies of rds/instance.go, vpc_.go, vpc_route.go and vpc_route_table.go
  were older than 5.46, so they were not used.

Pulumi tokens were checked against the pulumi-aws 7.51.1 Python SDK
(``super().__init__('aws:...')``), and property names against its
``@pulumi.getter(name=...)`` strings. A nested field is written
``block.field``, using the Pulumi names for both parts.

Not ForceNew, so updated in place (Update function, file:line):
  rds/instance: instanceClass (instance.go:2258), engineVersion (2142),
    allocatedStorage/iops (2167), dbSubnetGroupName (2207), multiAz (2311),
    identifier (rename via NewDBInstanceIdentifier, 2253-2255), password,
    parameterGroupName, vpcSecurityGroupIds, port, storageType, backupRetentionPeriod,
    deletionProtection. The Update runs ModifyDBInstance with ApplyImmediately =
    apply_immediately (2130-2133). If blue_green_update.enabled is set, most of these
    changes go through a Blue/Green deployment instead (1976-1990).
  ec2/launchTemplate: every argument except name/namePrefix. An update calls
    CreateLaunchTemplateVersion (ec2_launch_template.go:1097). If
    update_default_version is set or default_version changes, ModifyLaunchTemplate
    follows (1121-1132). The template ID stays the same; latestVersion and
    defaultVersion are planned as computed (CustomizeDiff 951-966).
  autoscaling/group: launchTemplate (group.go:1411), vpcZoneIdentifier (1456),
    targetGroupArns (Attach/DetachLoadBalancerTargetGroups 1565-1600), loadBalancers
    (1521), min/max/desired sizes (UpdateAutoScalingGroup). Running instances are
    replaced only if an instance_refresh block is configured (1609-1639).
  ec2/internetGateway: vpcId (detach/attach, vpc_internet_gateway.go:139).
  ec2/routeTableAssociation: routeTableId (ReplaceRouteTableAssociation,
    vpc_route_table_association.go:129).
  ec2/route: every target (*GatewayId, networkInterfaceId, ...) goes through ReplaceRoute.
  ec2/securityGroup: ingress/egress rule sets (vpc_security_group.go:334-340).
  vpc/securityGroup{Ingress,Egress}Rule: cidrIpv4/cidrIpv6/prefixListId/
    referencedSecurityGroupId value, fromPort, toPort, ipProtocol and description are
    updated with ModifySecurityGroupRules (vpc_security_group_ingress_rule.go:324-353),
    except in the source-type switch case in AWS_CONDITIONAL_FORCE_NEW.
  lb/listener: port, protocol, certificateArn, sslPolicy, defaultActions (ModifyListener,
    listener.go:554).
  route53/record: type and setIdentifier are NOT ForceNew. The Update sends DELETE and
    CREATE in one ChangeBatch (record.go:505-520, 669-673); other changes go through UPSERT.
  ssm/parameter: type, value, description, tier (except Advanced->Standard), keyId and
    allowedPattern go through PutParameter with Overwrite (parameter.go:307-345).
  rds/parameterGroup: parameters (Modify/ResetDBParameterGroup, parameter_group.go:236-299).
  rds/subnetGroup: subnetIds, description (ModifyDBSubnetGroup, subnet_group.go:146).
  iam/role: assumeRolePolicy (role.go:340), description (369), maxSessionDuration (382).
  iam/rolePolicy: policy (PutRolePolicy, role_policy.go:94).
  iam/instanceProfile: role (instance_profile.go:212).
  ec2/amiCopy: description and deprecationTime (resourceAMIUpdate, ec2/ec2_ami.go:468-485,
    which aws_ami_copy shares), tags. destinationOutpostArn is neither ForceNew
    (ec2_ami_copy.go:68) nor updated. Its delete is resourceAMIDelete (ec2_ami.go:490):
    DeregisterImage, then DeleteSnapshot for each EBS snapshot, since the copy sets
    manage_ebs_snapshots (ec2_ami_copy.go:302).
  lb/loadBalancer: securityGroups, subnets and subnetMappings are updated in place
    (SetSecurityGroups / SetSubnets, load_balancer.go:574-609) unless CustomizeDiff
    forces a replacement (see AWS_CONDITIONAL_FORCE_NEW). ipAddressType is updated in
    place (SetIpAddressType, 617).
"""

from __future__ import annotations

AWS_FORCE_NEW: dict[str, tuple[str, ...]] = {
    "aws:ec2/vpc:Vpc": (
        "cidrBlock",  # ec2/vpc_.go:78
        "ipv4IpamPoolId",  # ec2/vpc_.go:122
        "ipv4NetmaskLength",  # ec2/vpc_.go:127
    ),
    "aws:ec2/subnet:Subnet": (
        "availabilityZone",  # ec2/vpc_subnet.go:67
        "availabilityZoneId",  # ec2/vpc_subnet.go:74
        "cidrBlock",  # ec2/vpc_subnet.go:80
        "ipv6Native",  # ec2/vpc_subnet.go:120
        "outpostArn",  # ec2/vpc_subnet.go:136
        "vpcId",  # ec2/vpc_subnet.go:154
        "ipv4IpamPoolId",  # v6 @00cda125 ec2/vpc_subnet.go (not in 5.46)
        "ipv4NetmaskLength",  # v6 @00cda125 ec2/vpc_subnet.go (not in 5.46)
        "ipv6IpamPoolId",  # v6 @00cda125 ec2/vpc_subnet.go (not in 5.46)
        "ipv6NetmaskLength",  # v6 @00cda125 ec2/vpc_subnet.go (not in 5.46)
    ),
    "aws:ec2/internetGateway:InternetGateway": (),  # vpc_id updates in place (vpc_internet_gateway.go:139)
    "aws:ec2/routeTable:RouteTable": (
        "vpcId",  # ec2/vpc_route_table.go:160
    ),
    "aws:ec2/route:Route": (
        "routeTableId",  # ec2/vpc_route.go:71
        "destinationCidrBlock",  # ec2/vpc_route.go:80
        "destinationIpv6CidrBlock",  # ec2/vpc_route.go:87
        "destinationPrefixListId",  # ec2/vpc_route.go:95
    ),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (
        "gatewayId",  # ec2/vpc_route_table_association.go:44
        "subnetId",  # ec2/vpc_route_table_association.go:54
    ),
    "aws:ec2/securityGroup:SecurityGroup": (
        "description",  # ec2/vpc_security_group.go:68
        "name",  # ec2/vpc_security_group.go:78
        "namePrefix",  # ec2/vpc_security_group.go:89
        "vpcId",  # ec2/vpc_security_group.go:110
    ),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "securityGroupId",  # ec2/vpc_security_group_ingress_rule.go:218 (RequiresReplace)
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (
        "securityGroupId",  # ec2/vpc_security_group_ingress_rule.go:218 (shared schema)
    ),
    "aws:ec2/launchTemplate:LaunchTemplate": (
        "name",  # ec2/ec2_launch_template.go:719
        "namePrefix",  # ec2/ec2_launch_template.go:727
    ),
    "aws:autoscaling/group:Group": (
        "initialLifecycleHooks",  # autoscaling/group.go:140
        "initialLifecycleHooks.defaultResult",  # autoscaling/group.go:147
        "initialLifecycleHooks.heartbeatTimeout",  # autoscaling/group.go:153
        "initialLifecycleHooks.lifecycleTransition",  # autoscaling/group.go:159
        "initialLifecycleHooks.name",  # autoscaling/group.go:165
        "initialLifecycleHooks.notificationMetadata",  # autoscaling/group.go:175
        "initialLifecycleHooks.notificationTargetArn",  # autoscaling/group.go:180
        "initialLifecycleHooks.roleArn",  # autoscaling/group.go:186
        "name",  # autoscaling/group.go:779
        "namePrefix",  # autoscaling/group.go:787
    ),
    "aws:lb/loadBalancer:LoadBalancer": (
        "customerOwnedIpv4Pool",  # elbv2/load_balancer.go:136
        "internal",  # elbv2/load_balancer.go:213
        "loadBalancerType",  # elbv2/load_balancer.go:224
        "name",  # elbv2/load_balancer.go:233
        "namePrefix",  # elbv2/load_balancer.go:241
    ),
    "aws:lb/targetGroup:TargetGroup": (
        "ipAddressType",  # elbv2/target_group.go:152
        "name",  # elbv2/target_group.go:187
        "namePrefix",  # elbv2/target_group.go:195
        "port",  # elbv2/target_group.go:202
        "protocol",  # elbv2/target_group.go:216
        "protocolVersion",  # elbv2/target_group.go:224
        "targetType",  # elbv2/target_group.go:333
        "vpcId",  # elbv2/target_group.go:339
    ),
    "aws:lb/listener:Listener": (
        "loadBalancerArn",  # elbv2/listener.go:341
    ),
    "aws:acm/certificate:Certificate": (
        "certificateAuthorityArn",  # acm/certificate.go:77
        "domainName",  # acm/certificate.go:96
        "keyAlgorithm",  # acm/certificate.go:136
        "subjectAlternativeNames",  # acm/certificate.go:207
        "validationMethod",  # acm/certificate.go:232
        "validationOptions",  # acm/certificate.go:239
        "validationOptions.domainName",  # acm/certificate.go:245
        "validationOptions.validationDomain",  # acm/certificate.go:250
    ),
    "aws:acm/certificateValidation:CertificateValidation": (
        "certificateArn",  # acm/certificate_validation.go:41
        "validationRecordFqdns",  # acm/certificate_validation.go:46
    ),
    "aws:route53/record:Record": (
        "name",  # route53/record.go:273
        "zoneId",  # route53/record.go:328
    ),
    "aws:rds/instance:Instance": (
        "availabilityZone",  # rds/instance.go:142
        "backupTarget",  # rds/instance.go:154
        "characterSetName",  # rds/instance.go:188
        "customIamInstanceProfile",  # rds/instance.go:214
        "dbName",  # rds/instance.go:225
        "engine",  # rds/instance.go:298
        "kmsKeyId",  # rds/instance.go:358
        "ncharCharacterSetName",  # rds/instance.go:465
        "restoreToPointInTime",  # rds/instance.go:542 (whole block)
        "s3Import.bucketName",  # rds/instance.go:589
        "s3Import.bucketPrefix",  # rds/instance.go:594
        "s3Import.ingestionRole",  # rds/instance.go:599
        "s3Import.sourceEngine",  # rds/instance.go:604
        "s3Import.sourceEngineVersion",  # rds/instance.go:609
        "snapshotIdentifier",  # rds/instance.go:623
        "storageEncrypted",  # rds/instance.go:632
        "timezone",  # rds/instance.go:650
        "username",  # rds/instance.go:659
    ),
    "aws:rds/subnetGroup:SubnetGroup": (
        "name",  # rds/subnet_group.go:56
        "namePrefix",  # rds/subnet_group.go:64
    ),
    "aws:rds/parameterGroup:ParameterGroup": (
        "description",  # rds/parameter_group.go:53
        "family",  # rds/parameter_group.go:59
        "name",  # rds/parameter_group.go:65
        "namePrefix",  # rds/parameter_group.go:73
    ),
    "aws:ssm/parameter:Parameter": (
        "dataType",  # ssm/parameter.go:66
        "name",  # ssm/parameter.go:87
    ),
    "aws:iam/role:Role": (
        "name",  # iam/role.go:144
        "namePrefix",  # iam/role.go:152
        "path",  # iam/role.go:160
    ),
    "aws:iam/rolePolicy:RolePolicy": (
        "name",  # iam/role_policy.go:50
        "namePrefix",  # iam/role_policy.go:58
        "role",  # iam/role_policy.go:76
    ),
    "aws:iam/instanceProfile:InstanceProfile": (
        "name",  # iam/instance_profile.go:61
        "namePrefix",  # iam/instance_profile.go:69
        "path",  # iam/instance_profile.go:77
    ),
    "aws:ec2/amiCopy:AmiCopy": (
        "encrypted",  # ec2/ec2_ami_copy.go:139
        "ephemeralBlockDevices",  # ec2/ec2_ami_copy.go:145
        "kmsKeyId",  # ec2/ec2_ami_copy.go:194
        "name",  # ec2/ec2_ami_copy.go:208
        "sourceAmiId",  # ec2/ec2_ami_copy.go:241
        "sourceAmiRegion",  # ec2/ec2_ami_copy.go:246
        "region",  # v6 guides/enhanced-region-support.html.markdown: "Changing the value of `region` will force resource replacement" (not in 5.46)
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint": (
        "serviceName",  # ec2/vpc_endpoint.go:157
        "vpcEndpointType",  # ec2/vpc_endpoint.go:174
        "vpcId",  # ec2/vpc_endpoint.go:181
        "resourceConfigurationArn",  # v6 @008db85a ec2/vpc_endpoint.go (not in 5.46)
        "serviceNetworkArn",  # v6 @008db85a ec2/vpc_endpoint.go (not in 5.46)
        "serviceRegion",  # v6 @008db85a ec2/vpc_endpoint.go (not in 5.46)
        "dnsOptions.privateDnsPreference",  # v6 @008db85a ec2/vpc_endpoint.go (not in 5.46)
        "dnsOptions.privateDnsSpecifiedDomains",  # v6 @008db85a ec2/vpc_endpoint.go (not in 5.46)
    ),
}

# token -> [(property, condition under which CustomizeDiff / ModifyPlan forces replacement)]
AWS_CONDITIONAL_FORCE_NEW: dict[str, list[tuple[str, str]]] = {
    "aws:ec2/vpc:Vpc": [
        ("instanceTenancy", "any change except dedicated -> default (ec2/vpc_.go:514-518)"),
        ("cidrBlock", "on an existing VPC, when cidr_block changes and ipv4_netmask_length is 0; if a netmask is set (IPAM), the diff is cleared instead (ec2/vpc_.go:520-528)"),
    ],
    "aws:ec2/subnet:Subnet": [
        ("ipv6CidrBlock", "v6 @00cda125: ForceNewIf ipv6_cidr_block changes and the old value of assign_ipv6_address_on_creation is true (not in 5.46)"),
    ],
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": [
        (
            "cidrIpv4|cidrIpv6|prefixListId|referencedSecurityGroupId",
            "ModifyPlan: when the source TYPE changes (e.g. cidr_ipv4 -> referenced_security_group_id) "
            "both the old and the new source attribute RequiresReplace "
            "(ec2/vpc_security_group_ingress_rule.go:388-404, 524-537)",
        ),
    ],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": [
        ("cidrIpv4|cidrIpv6|prefixListId|referencedSecurityGroupId", "same shared ModifyPlan as the ingress rule (ec2/vpc_security_group_ingress_rule.go:388-404)"),
    ],
    "aws:lb/loadBalancer:LoadBalancer": [
        (
            "subnetMappings",
            "ALB, existing LB, config known: same count but a mapping changed; or fewer mappings and "
            "the remaining ones changed; or more mappings and the previous ones changed "
            "(customizeDiffLoadBalancerALB, elbv2/load_balancer.go:1159-1213)",
        ),
        (
            "subnetMappings",
            "NLB, existing LB: same count or fewer mappings (any removal); or more mappings and the previous ones changed (customizeDiffLoadBalancerNLB, elbv2/load_balancer.go:1069-1119)",
        ),
        ("subnets", "NLB, existing LB: subnets changed and the count did not grow (removal or swap); adding subnets only is in place (elbv2/load_balancer.go:1124-1133)"),
        ("securityGroups", "NLB, existing LB: going from no security groups to some, or from some to none (elbv2/load_balancer.go:1143-1153)"),
    ],
    "aws:ssm/parameter:Parameter": [
        ("tier", "ForceNewIfChange old == Advanced && new == Standard (ssm/parameter.go:130-132)"),
    ],
    "aws:ec2/vpcEndpoint:VpcEndpoint": [
        ("privateDnsEnabled", "v6 @008db85a: on an existing endpoint, when private_dns_enabled changes and vpc_endpoint_type != Interface (not in 5.46)"),
    ],
    "aws:rds/instance:Instance": [],  # CustomizeDiff (rds/instance.go:670-693) only validates blue_green_update
    "aws:autoscaling/group:Group": [],  # CustomizeDiff (autoscaling/group.go:928-990) only marks launch template IDs unknown
    "aws:acm/certificate:Certificate": [],  # CustomizeDiff only computes domain_validation_options / SANs / pending_renewal
    "aws:lb/targetGroup:TargetGroup": [],  # CustomizeDiff only validates health_check / lambda settings
    "aws:ec2/amiCopy:AmiCopy": [],  # CustomizeDiff is verify.SetTagsDiff only (ec2/ec2_ami_copy.go:268)
}

BEHAVIOUR_NOTES = """
(1) aws_autoscaling_group waits (autoscaling/group.go at 1a5174b1)
  * wait_for_capacity_timeout defaults to "10m" (group.go:873-877); "0" turns the
    waiting off. Nothing waits when the value parses to 0 (1165-1166, 1665-1666).
  * Create (1165-1193): after CreateAutoScalingGroup and d.SetId(asgName) (1140), it polls
    waitGroupCapacitySatisfied (2518) until:
      healthy InService ASG instances (by WeightedCapacity) >= max(min_size, desired_capacity),
      and instances healthy in ALL attached LBs/TGs >= min_elb_capacity, which
      wait_for_elb_capacity replaces when > 0 (1177-1185).
    An instance counts as "in ELB" only if it is InService in every attached classic ELB and
    `healthy` in every attached target group that reports it (statusGroupCapacity 2263-2356).
    Unless ignore_failed_scaling_activities is set, a failed scaling activity (Progress 100,
    except "Invalid IAM Instance Profile") stops the wait with an error (2265-2289).
  * Update (1664-1690): it waits only when desired_capacity, desired_capacity_type or
    min_size changed (shouldWaitForCapacity 1383/1388/1428). The targets are EXACT:
    nASG == max(min_size, desired_capacity), and nELB == wait_for_elb_capacity when
    that is > 0. min_elb_capacity is not used on update.
  * Timeout / error: the create returns an error diagnostic AFTER d.SetId, so the group
    exists and the ID is kept. Terraform SDK v2 then records the resource as tainted,
    and the Pulumi bridge as a resource with init errors. Nothing deletes the group.
    On update the error leaves the group as changed.
  * Destroy (1774-1832): if force_delete is false (the default, group.go:112-116), drainGroup
    first sets min/max/desired to 0 (1837-1843), removes scale-in protection from protected
    instances (1851-1884), and waits for the instance count to reach 0 (waitGroupDrained
    2534, within the delete timeout, 10m by default). Then it calls DeleteAutoScalingGroup
    with ForceDelete=force_delete. With force_delete=true there is no drain: AWS deletes
    the group and terminates the instances without waiting for them. The provider does not
    wait for target-group deregistration itself. Scale-in to 0 goes through the normal
    ASG termination, and the ASG removes the instances from the target groups with
    deregistration_delay. A warm pool is deleted first (force if force_delete or
    force_delete_warm_pool).
(2) aws_lb_target_group deregistration_delay: nullable int, Default 300, range 0-3600
    (elbv2/target_group.go:72-77; v6 @013cfb4c identical). It maps to the target-group
    attribute "deregistration_delay.timeout_seconds" (target_group.go:719-723,
    const.go:97) and applies only to target_type instance and ip. This is how long
    ELBv2 keeps a deregistering target "draining" before it reaches "unused". Changing
    it is in place (ModifyTargetGroupAttributes).
(3) aws_db_instance (rds/instance.go at 1a5174b1)
    * skip_final_snapshot: Default false (614-618). final_snapshot_identifier: Optional, no
      default (313-322). On delete, if skip_final_snapshot is false and
      final_snapshot_identifier is empty, Delete fails with "final_snapshot_identifier is
      required when skip_final_snapshot is false" (2435-2444). The check runs at destroy,
      not at plan.
    * deletion_protection: Optional bool, no default (240-243), so the AWS default is false.
      If AWS rejects the delete with "disable deletion pro..." AND the config has
      deletion_protection unset/false AND apply_immediately is true, the provider turns
      protection off (ModifyDBInstance) and retries (2450-2480).
    * apply_immediately: Optional bool, Default false at 1a5174b1 (124-128), fed into
      ModifyDBInstance.ApplyImmediately on update (2130-2133). Creation-time follow-up
      modifies always use ApplyImmediately=true (710). An older indexed copy
      (@00e4b238) had it Optional+Computed with no default.
    * delete_automated_backups: Default true (235-239).
"""
