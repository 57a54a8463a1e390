"""`aws.security_group`: an EC2 security group and its ingress and egress rules.

Rules are compared as sets: each rule is split into one entry per CIDR (as AWS keeps them),
and grouped back by protocol, ports and description with sorted CIDR lists, so the order
in the manifest or in AWS's answer never shows as a change. `egress` left out means AWS's
own default (all traffic to 0.0.0.0/0), which AWS adds to every new group; `egress: []`
removes it. A change of name, description or VPC replaces the group (AWS cannot change
them in place).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, model_validator

from shipway.provisioner.providers.aws import (
    AwsSettings,
    aws_error,
    client,
    error_code,
    region_of,
    tag_dict,
    tag_list,
)
from shipway.provisioner.providers.interface import (
    UNKNOWN,
    Observed,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderSettings,
)
from shipway.provisioner.providers.naming import default_name, observed_name

_PROTOCOLS = {"all": "-1", "-1": "-1", "tcp": "tcp", "udp": "udp", "icmp": "icmp"}
_PROTOCOLS |= {"icmpv6": "icmpv6", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_NAMES = {"-1": "all"}

#: One rule entry as AWS keeps it: (protocol, from_port, to_port, cidr, description).
Entry = tuple[str, int | None, int | None, str, str | None]


class Rule(ProviderSettings):
    """Traffic allowed by protocol and port (or port range) from (or to) CIDR blocks."""

    protocol: str = "tcp"
    port: int | None = Field(default=None, ge=-1, le=65535)
    from_port: int | None = Field(default=None, ge=-1, le=65535)
    to_port: int | None = Field(default=None, ge=-1, le=65535)
    cidrs: list[str] = Field(default_factory=list)
    ipv6_cidrs: list[str] = Field(default_factory=list)
    description: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Rule:
        protocol = self.protocol.lower()
        if protocol not in _PROTOCOLS and not protocol.isdigit():
            raise ValueError(f"unknown protocol {self.protocol!r} (tcp, udp, icmp, icmpv6, all)")
        if self.port is not None and (self.from_port is not None or self.to_port is not None):
            raise ValueError("give either port or from_port/to_port")
        if _PROTOCOLS.get(protocol) in {"tcp", "udp"} and self.ports() == (None, None):
            raise ValueError(f"a {protocol} rule needs port or from_port/to_port")
        if not self.cidrs and not self.ipv6_cidrs:
            raise ValueError("a rule needs cidrs or ipv6_cidrs")
        return self

    def ports(self) -> tuple[int | None, int | None]:
        if self.port is not None:
            return self.port, self.port
        if self.from_port is not None or self.to_port is not None:
            start = self.from_port if self.from_port is not None else self.to_port
            return start, self.to_port if self.to_port is not None else start
        return None, None

    def entries(self) -> set[Entry]:
        protocol = _PROTOCOLS.get(self.protocol.lower(), self.protocol.lower())
        start, end = self.ports()
        if protocol == "-1":
            start = end = None
        elif protocol in {"icmp", "icmpv6"} and start is None:
            start = end = -1
        return {
            (protocol, start, end, cidr, self.description)
            for cidr in [*self.cidrs, *self.ipv6_cidrs]
        }


_ALL_OUT = [Rule(protocol="all", cidrs=["0.0.0.0/0"])]


class SecurityGroupSettings(AwsSettings):
    name: str | None = None
    description: str = "managed by shipway"
    vpc_id: str | None = None
    ingress: list[Rule] = Field(default_factory=list)
    egress: list[Rule] = Field(default_factory=lambda: list(_ALL_OUT))
    tags: dict[str, str] = Field(default_factory=dict)


def _entries(rules: Iterable[Rule]) -> set[Entry]:
    return {entry for rule in rules for entry in rule.entries()}


def _shape(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """Entries grouped into rules by protocol, ports and description, in a stable order."""
    groups: dict[tuple[str, int | None, int | None, str | None], list[str]] = {}
    for protocol, start, end, cidr, description in entries:
        groups.setdefault((protocol, start, end, description), []).append(cidr)
    rules = []
    for (protocol, start, end, description), cidrs in groups.items():
        rules.append(
            {
                "protocol": _NAMES.get(protocol, protocol),
                "from_port": start,
                "to_port": end,
                "cidrs": sorted(c for c in cidrs if ":" not in c),
                "ipv6_cidrs": sorted(c for c in cidrs if ":" in c),
                "description": description,
            }
        )
    return sorted(rules, key=lambda r: repr([r[k] for k in sorted(r)]))


def _read_entries(permissions: list[dict[str, Any]]) -> set[Entry]:
    entries: set[Entry] = set()
    for permission in permissions:
        protocol = _PROTOCOLS.get(str(permission["IpProtocol"]), str(permission["IpProtocol"]))
        start = permission.get("FromPort") if protocol != "-1" else None
        end = permission.get("ToPort") if protocol != "-1" else None
        for block in permission.get("IpRanges", []):
            entries.add((protocol, start, end, block["CidrIp"], block.get("Description")))
        for block in permission.get("Ipv6Ranges", []):
            entries.add((protocol, start, end, block["CidrIpv6"], block.get("Description")))
    return entries


def _permissions(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    permissions = []
    for protocol, start, end, cidr, description in sorted(entries, key=repr):
        block: dict[str, str] = {"CidrIpv6" if ":" in cidr else "CidrIp": cidr}
        if description:
            block["Description"] = description
        permission: dict[str, Any] = {"IpProtocol": protocol}
        if start is not None:
            permission["FromPort"] = start
            permission["ToPort"] = end
        permission["Ipv6Ranges" if ":" in cidr else "IpRanges"] = [block]
        permissions.append(permission)
    return permissions


class SecurityGroupProvider(Provider):
    type = "aws.security_group"
    missing = "InvalidGroup.NotFound: security group"
    Settings = SecurityGroupSettings
    replace_on = frozenset({"name", "description", "vpc_id"})

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        assert isinstance(settings, SecurityGroupSettings)
        return settings.name or name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        assert isinstance(settings, SecurityGroupSettings)
        return {
            "name": settings.name,
            "description": settings.description,
            "vpc_id": settings.vpc_id,
            "ingress": _shape(_entries(settings.ingress)),
            "egress": _shape(_entries(settings.egress)),
            "tags": dict(settings.tags),
        }

    def _find(
        self, ctx: ProviderContext, settings: SecurityGroupSettings, ec2: Any, resource_id: str
    ) -> dict[str, Any] | None:
        """The group with id `resource_id` (`sg-...`), or else by name in the VPC."""
        if resource_id.startswith("sg-"):
            try:
                groups = ec2.describe_security_groups(GroupIds=[resource_id])["SecurityGroups"]
            except Exception as e:
                if error_code(e) in {"InvalidGroup.NotFound", "InvalidGroupId.NotFound"}:
                    return None
                raise
        else:
            name = resource_id
            if settings.name is None and resource_id == ctx.name:
                name = default_name(ctx, max_length=255)
            if settings.vpc_id is not None and UNKNOWN in settings.vpc_id:
                return None  # its VPC is not made yet, so neither is the group
            filters = [{"Name": "group-name", "Values": [name]}]
            filters.append({"Name": "vpc-id", "Values": [self._vpc(settings, ec2)]})
            groups = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
        return dict(groups[0]) if groups else None

    @staticmethod
    def _vpc(settings: SecurityGroupSettings, ec2: Any) -> str:
        if settings.vpc_id:
            return settings.vpc_id
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise ProviderError(
                "aws.security_group: VPCIdNotSpecified: the region has no default VPC; set vpc_id"
            )
        return str(vpcs[0]["VpcId"])

    def _observe(
        self, ctx: ProviderContext, settings: SecurityGroupSettings, group: dict[str, Any]
    ) -> Observed:
        group_id = str(group["GroupId"])
        vpc_id = str(group.get("VpcId", ""))
        name = str(group["GroupName"])
        attributes = {
            "name": observed_name(settings.name, name, default_name(ctx, max_length=255)),
            "description": group.get("Description", ""),
            "vpc_id": vpc_id if settings.vpc_id is not None else None,
            "ingress": _shape(_read_entries(group.get("IpPermissions", []))),
            "egress": _shape(_read_entries(group.get("IpPermissionsEgress", []))),
            "tags": tag_dict(group.get("Tags")),
        }
        owner = group.get("OwnerId", "")
        arn = group.get("SecurityGroupArn") or (
            f"arn:aws:ec2:{region_of(settings)}:{owner}:security-group/{group_id}"
        )
        outputs = {"id": group_id, "name": name, "arn": arn, "vpc_id": vpc_id}
        return Observed(resource_id=group_id, attributes=attributes, outputs=outputs)

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        assert isinstance(settings, SecurityGroupSettings)
        if UNKNOWN in resource_id:
            return None  # named after a resource not applied yet: not made yet
        ec2 = client(ctx, settings, "ec2")
        try:
            group = self._find(ctx, settings, ec2, resource_id)
        except Exception as e:
            raise aws_error(f"reading security group {resource_id!r}", e) from None
        return None if group is None else self._observe(ctx, settings, group)

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        assert isinstance(settings, SecurityGroupSettings)
        name = settings.name or default_name(ctx, max_length=255)
        ec2 = client(ctx, settings, "ec2")
        try:
            request: dict[str, Any] = {
                "GroupName": name,
                "Description": settings.description,
                "VpcId": self._vpc(settings, ec2),
            }
            if settings.tags:
                request["TagSpecifications"] = [
                    {"ResourceType": "security-group", "Tags": tag_list(settings.tags)}
                ]
            group_id = str(ec2.create_security_group(**request)["GroupId"])
        except Exception as e:
            raise aws_error(f"creating security group {name!r}", e) from None
        try:
            group = self._describe(ec2, group_id)
            self._converge(ec2, group, settings, {"ingress", "egress"})
            return self._observe(ctx, settings, self._describe(ec2, group_id))
        except Exception as e:
            raise aws_error(f"setting the rules of security group {group_id}", e) from None

    @staticmethod
    def _describe(ec2: Any, group_id: str) -> dict[str, Any]:
        return dict(ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0])

    def _converge(
        self, ec2: Any, group: dict[str, Any], settings: SecurityGroupSettings, keys: set[str]
    ) -> None:
        group_id = group["GroupId"]
        for key, field, wanted_rules in (
            ("ingress", "IpPermissions", settings.ingress),
            ("egress", "IpPermissionsEgress", settings.egress),
        ):
            if key not in keys:
                continue
            have, want = _read_entries(group.get(field, [])), _entries(wanted_rules)
            suffix = "ingress" if key == "ingress" else "egress"
            # NOTE: revoke first: a rule whose description alone changed is revoked and
            # authorized again, and AWS refuses a second rule for the same CIDR and ports.
            if have - want:
                revoke = getattr(ec2, f"revoke_security_group_{suffix}")
                revoke(GroupId=group_id, IpPermissions=_permissions(have - want))
            if want - have:
                authorize = getattr(ec2, f"authorize_security_group_{suffix}")
                authorize(GroupId=group_id, IpPermissions=_permissions(want - have))
        if "tags" in keys:
            have_tags, want_tags = tag_dict(group.get("Tags")), settings.tags
            gone = [{"Key": k} for k in have_tags if k not in want_tags]
            if gone:
                ec2.delete_tags(Resources=[group_id], Tags=gone)
            changed = {k: v for k, v in want_tags.items() if have_tags.get(k) != v}
            if changed:
                ec2.create_tags(Resources=[group_id], Tags=tag_list(changed))

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        assert isinstance(settings, SecurityGroupSettings)
        ec2 = client(ctx, settings, "ec2")
        try:
            group = self._describe(ec2, current.resource_id)
            self._converge(ec2, group, settings, set(changes))
            return self._observe(ctx, settings, self._describe(ec2, current.resource_id))
        except Exception as e:
            raise aws_error(f"updating security group {current.resource_id}", e) from None

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        assert isinstance(settings, SecurityGroupSettings)
        ec2 = client(ctx, settings, "ec2")
        try:
            ec2.delete_security_group(GroupId=current.resource_id)
        except Exception as e:
            if error_code(e) in {"InvalidGroup.NotFound", "InvalidGroupId.NotFound"}:
                return
            raise aws_error(f"deleting security group {current.resource_id}", e) from None
