"""`aws.security_group` against a moto server: rules read back exactly (AWS's default
egress rule, order, CIDR grouping), update, drift made by hand, replace, destroy, adopt and
AWS's own error codes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from shipway.provisioner import providers
from shipway.provisioner.providers.interface import ProviderError
from tests.provisioner.emulators import aws_env, changes, context, moto_url, unique

__all__ = ["aws_env", "moto_url"]

INGRESS = [
    {"port": 443, "cidrs": ["10.0.0.0/8", "0.0.0.0/0"], "description": "https"},
    {"protocol": "udp", "from_port": 1000, "to_port": 2000, "cidrs": ["192.168.0.0/16"]},
    {"port": 22, "cidrs": ["10.1.0.0/16"], "ipv6_cidrs": ["2001:db8::/32"], "description": "ssh"},
]


def _ec2(url: str) -> Any:
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=url)


def _group(url: str, group_id: str) -> dict[str, Any]:
    return dict(_ec2(url).describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0])


def _ranges(permissions: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    found = set()
    for p in permissions:
        for block in p.get("IpRanges", []):
            found.add((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), block["CidrIp"]))
        for block in p.get("Ipv6Ranges", []):
            found.add((p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), block["CidrIpv6"]))
    return found


def test_create_with_rules_reads_back_exactly(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.security_group")
    name = unique("web")
    settings = provider.settings(
        {"endpoint_url": moto_url, "name": name, "ingress": INGRESS, "tags": {"app": "notes"}}
    )
    ctx = context(tmp_path, "web")
    assert provider.read(ctx, settings, provider.resource_id("web", settings)) is None

    made = provider.create(ctx, settings)

    group = _group(moto_url, made.resource_id)
    assert group["GroupName"] == name
    assert _ranges(group["IpPermissions"]) == {
        ("tcp", 443, 443, "10.0.0.0/8"),
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("udp", 1000, 2000, "192.168.0.0/16"),
        ("tcp", 22, 22, "10.1.0.0/16"),
        ("tcp", 22, 22, "2001:db8::/32"),
    }
    # egress left out: AWS's default allow-all rule, kept.
    assert _ranges(group["IpPermissionsEgress"]) == {("-1", None, None, "0.0.0.0/0")}
    assert {t["Key"]: t["Value"] for t in group["Tags"]} == {"app": "notes"}
    assert made.resource_id.startswith("sg-") and made.outputs["id"] == made.resource_id
    assert made.outputs["vpc_id"] == group["VpcId"]
    assert made.outputs["arn"].endswith(f":security-group/{made.resource_id}")
    assert made.outputs["name"] == name
    # Read back, in another order, equals the manifest: the second plan is empty.
    reordered = provider.settings(
        {"endpoint_url": moto_url, "name": name, "ingress": INGRESS[::-1], "tags": {"app": "notes"}}
    )
    found = provider.read(ctx, reordered, made.resource_id)
    assert found is not None
    assert set(found.attributes) == set(provider.desired(settings))
    assert changes(provider, reordered, found) == {}
    # Found by name too, before anything is recorded.
    by_name = provider.read(ctx, settings, provider.resource_id("web", settings))
    assert by_name is not None and by_name.resource_id == made.resource_id


def test_explicit_egress_replaces_the_default(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.security_group")
    ctx = context(tmp_path, "db")
    egress = [{"port": 5432, "cidrs": ["10.0.0.0/8"]}]
    settings = provider.settings({"endpoint_url": moto_url, "name": unique("db"), "egress": egress})
    made = provider.create(ctx, settings)
    assert _ranges(_group(moto_url, made.resource_id)["IpPermissionsEgress"]) == {
        ("tcp", 5432, 5432, "10.0.0.0/8")
    }
    assert changes(provider, settings, made) == {}
    closed = provider.settings({"endpoint_url": moto_url, "name": settings.name, "egress": []})  # type: ignore[attr-defined]
    done = provider.update(ctx, closed, made, changes(provider, closed, made))
    assert _group(moto_url, made.resource_id)["IpPermissionsEgress"] == []
    assert changes(provider, closed, done) == {}


def test_update_and_drift(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.security_group")
    name = unique("api")
    ctx = context(tmp_path, "api")
    first = provider.settings({"endpoint_url": moto_url, "name": name, "ingress": INGRESS[:1]})
    made = provider.create(ctx, first)
    second = provider.settings(
        {
            "endpoint_url": moto_url,
            "name": name,
            "ingress": [{"port": 443, "cidrs": ["10.0.0.0/8"], "description": "internal https"}],
            "tags": {"tier": "api"},
        }
    )
    diff = changes(provider, second, made)
    assert set(diff) == {"ingress", "tags"}
    updated = provider.update(ctx, second, made, diff)
    assert changes(provider, second, updated) == {}
    group = _group(moto_url, made.resource_id)
    assert _ranges(group["IpPermissions"]) == {("tcp", 443, 443, "10.0.0.0/8")}
    assert group["IpPermissions"][0]["IpRanges"][0]["Description"] == "internal https"

    # By hand: a port opened to the world, a tag removed.
    ec2 = _ec2(moto_url)
    ec2.authorize_security_group_ingress(
        GroupId=made.resource_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 3306,
                "ToPort": 3306,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    ec2.delete_tags(Resources=[made.resource_id], Tags=[{"Key": "tier"}])
    drifted = provider.read(ctx, second, made.resource_id)
    assert drifted is not None
    diff = changes(provider, second, drifted)
    assert set(diff) == {"ingress", "tags"}
    assert {"protocol": "tcp", "from_port": 3306, "to_port": 3306, "cidrs": ["0.0.0.0/0"],
            "ipv6_cidrs": [], "description": None} in diff["ingress"][0]  # fmt: skip
    fixed = provider.update(ctx, second, drifted, diff)
    assert changes(provider, second, fixed) == {}
    assert _ranges(_group(moto_url, made.resource_id)["IpPermissions"]) == {
        ("tcp", 443, 443, "10.0.0.0/8")
    }


def test_replace_destroy_and_adopt(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.security_group")
    name = unique("jobs")
    ctx = context(tmp_path, "jobs")
    settings = provider.settings({"endpoint_url": moto_url, "name": name})
    made = provider.create(ctx, settings)
    described = provider.settings({"endpoint_url": moto_url, "name": name, "description": "jobs"})
    assert set(changes(provider, described, made)) == {"description"} <= provider.replace_on

    provider.delete(ctx, settings, made)
    assert provider.read(ctx, settings, made.resource_id) is None
    provider.delete(ctx, settings, made)  # gone already: not an error
    again = provider.create(ctx, described)
    assert _group(moto_url, again.resource_id)["Description"] == "jobs"

    # Adopt a group made outside shipway, by id and by name.
    other = unique("legacy")
    group_id = _ec2(moto_url).create_security_group(GroupName=other, Description="old")["GroupId"]
    legacy = provider.settings({"endpoint_url": moto_url, "name": other, "description": "old"})
    adopted = provider.adopt(ctx, legacy, group_id)
    assert adopted.resource_id == group_id
    assert changes(provider, legacy, adopted) == {}
    assert provider.adopt(ctx, legacy, other).resource_id == group_id
    with pytest.raises(ProviderError, match=r"InvalidGroup.NotFound"):
        provider.adopt(ctx, legacy, "sg-0123456789abcdef0")


def test_errors_carry_the_aws_error_code(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.security_group")
    name = unique("dup")
    _ec2(moto_url).create_security_group(GroupName=name, Description="taken")
    settings = provider.settings({"endpoint_url": moto_url, "name": name})
    with pytest.raises(
        ProviderError, match=f"creating security group '{name}': InvalidGroup.Duplicate"
    ):
        provider.create(context(tmp_path, "dup"), settings)
    bad_cidr = provider.settings(
        {
            "endpoint_url": moto_url,
            "name": unique("bad"),
            "ingress": [{"port": 1, "cidrs": ["10.0.0.0/33"]}],
        }
    )
    with pytest.raises(ProviderError, match=r"security group sg-.*: InvalidParameterValue"):
        provider.create(context(tmp_path, "bad"), bad_cidr)


def test_rules_are_checked() -> None:
    provider = providers.get("aws.security_group")
    with pytest.raises(ValueError, match="needs port"):
        provider.settings({"ingress": [{"cidrs": ["10.0.0.0/8"]}]})
    with pytest.raises(ValueError, match="unknown protocol"):
        provider.settings({"ingress": [{"protocol": "sctpx", "port": 1, "cidrs": ["10.0.0.0/8"]}]})
    with pytest.raises(ValueError, match="needs cidrs"):
        provider.settings({"ingress": [{"port": 80}]})
