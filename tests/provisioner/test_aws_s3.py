"""`aws.s3_bucket` against a moto server: create (and read back through boto3), update in
place, drift made by hand, replace, destroy (refused when not empty unless force_destroy),
adopt, and AWS's own error codes."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from shipway.provisioner import providers
from shipway.provisioner.providers.interface import ProviderError
from tests.provisioner.emulators import aws_env, changes, context, moto_url, unique

__all__ = ["aws_env", "moto_url"]

RULES = [
    {"id": "logs", "prefix": "logs/", "expire_days": 30, "noncurrent_expire_days": 7},
    {"prefix": "archive/", "transitions": [{"days": 60, "storage_class": "GLACIER"}]},
]


def _s3(url: str) -> Any:
    return boto3.client("s3", region_name="us-east-1", endpoint_url=url)


def _attrs(url: str, name: str, **more: Any) -> dict[str, Any]:
    return {"endpoint_url": url, "name": name, **more}


def test_create_reads_back_through_the_sdk(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.s3_bucket")
    name = unique("assets")
    settings = provider.settings(
        _attrs(moto_url, name, versioning=True, lifecycle=RULES, tags={"team": "web"})
    )
    ctx = context(tmp_path, "assets")
    assert provider.read(ctx, settings, provider.resource_id("assets", settings)) is None

    made = provider.create(ctx, settings)

    assert made.resource_id == name
    assert made.outputs == {
        "name": name,
        "arn": f"arn:aws:s3:::{name}",
        "region": "us-east-1",
        "url": f"s3://{name}",
        "endpoint": f"{moto_url}/{name}",
    }
    s3 = _s3(moto_url)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    sse = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
    assert sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]}
    assert rules["logs"]["Expiration"] == {"Days": 30}
    assert rules["logs"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
    assert rules["rule-2"]["Transitions"] == [{"Days": 60, "StorageClass": "GLACIER"}]
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "team", "Value": "web"}]
    # The world as read compares equal to the manifest: the second plan is empty.
    again = provider.read(ctx, settings, made.resource_id)
    assert again is not None
    assert set(again.attributes) == set(provider.desired(settings))
    assert changes(provider, settings, again) == {}


def test_default_name_is_a_valid_bucket_name(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.s3_bucket")
    settings = provider.settings({"endpoint_url": moto_url})
    ctx = context(tmp_path, "Uploads_Bucket", project="My Notes", environment=unique("dev"))
    made = provider.create(ctx, settings)
    assert made.resource_id == f"my-notes-{ctx.environment}-uploads-bucket"
    _s3(moto_url).head_bucket(Bucket=made.resource_id)
    found = provider.read(ctx, settings, provider.resource_id(ctx.name, settings))
    assert found is not None and found.resource_id == made.resource_id
    assert changes(provider, settings, found) == {}
    provider.delete(ctx, settings, made)


def test_update_in_place_and_drift(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.s3_bucket")
    name = unique("data")
    ctx = context(tmp_path, "data")
    first = provider.settings(_attrs(moto_url, name))
    made = provider.create(ctx, first)

    second = provider.settings(
        _attrs(
            moto_url,
            name,
            versioning=True,
            encryption="aws:kms",
            kms_key_id="alias/notes",
            public=True,
            lifecycle=RULES[:1],
            tags={"cost": "low"},
        )
    )
    diff = changes(provider, second, made)
    assert set(diff) == {"versioning", "encryption", "kms_key_id", "public", "lifecycle", "tags"}
    assert not diff.keys() & provider.replace_on
    updated = provider.update(ctx, second, made, diff)
    assert changes(provider, second, updated) == {}
    s3 = _s3(moto_url)
    default = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
    assert default["Rules"][0]["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": "alias/notes",
    }
    with pytest.raises(Exception, match="NoSuchPublicAccessBlockConfiguration"):
        s3.get_public_access_block(Bucket=name)

    # Hand changes: versioning suspended, a tag added, the lifecycle removed.
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    s3.put_bucket_tagging(
        Bucket=name,
        Tagging={"TagSet": [{"Key": "cost", "Value": "low"}, {"Key": "x", "Value": "y"}]},
    )
    s3.delete_bucket_lifecycle(Bucket=name)
    drifted = provider.read(ctx, second, name)
    assert drifted is not None
    diff = changes(provider, second, drifted)
    assert set(diff) == {"versioning", "tags", "lifecycle"}
    assert diff["versioning"] == (False, True)
    assert diff["tags"] == ({"cost": "low", "x": "y"}, {"cost": "low"})
    fixed = provider.update(ctx, second, drifted, diff)
    assert changes(provider, second, fixed) == {}
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"

    # Back to the first settings: versioning suspended, public blocked, lifecycle gone.
    back = provider.update(ctx, first, fixed, changes(provider, first, fixed))
    assert changes(provider, first, back) == {}
    with pytest.raises(Exception, match="NoSuchLifecycleConfiguration"):
        s3.get_bucket_lifecycle_configuration(Bucket=name)


def test_a_new_name_or_region_replaces(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.s3_bucket")
    name = unique("move")
    ctx = context(tmp_path, "move")
    made = provider.create(ctx, provider.settings(_attrs(moto_url, name)))
    moved = provider.settings(_attrs(moto_url, name, region="eu-west-1"))
    renamed = provider.settings(_attrs(moto_url, name + "-2"))
    assert set(changes(provider, moved, made)) == {"region"} <= provider.replace_on
    assert set(changes(provider, renamed, made)) == {"name"} <= provider.replace_on
    # Replace as the engine does it: delete, then create.
    provider.delete(ctx, moved, made)
    again = provider.create(ctx, moved)
    assert again.outputs["region"] == "eu-west-1"
    location = _s3(moto_url).get_bucket_location(Bucket=name)["LocationConstraint"]
    assert location == "eu-west-1"
    assert changes(provider, moved, provider.read(ctx, moved, name)) == {}


def test_destroy_refuses_a_non_empty_bucket_unless_forced(
    tmp_path: Path, moto_url: str, aws_env: Any
) -> None:
    provider = providers.get("aws.s3_bucket")
    name = unique("full")
    ctx = context(tmp_path, "full")
    settings = provider.settings(_attrs(moto_url, name, versioning=True))
    made = provider.create(ctx, settings)
    s3 = _s3(moto_url)
    for body in (b"one", b"two"):
        s3.put_object(Bucket=name, Key="notes.txt", Body=body)
    s3.delete_object(Bucket=name, Key="notes.txt")  # leaves versions and a delete marker

    with pytest.raises(ProviderError, match=r"BucketNotEmpty.*force_destroy"):
        provider.delete(ctx, settings, made)
    s3.head_bucket(Bucket=name)

    forced = provider.settings(_attrs(moto_url, name, versioning=True, force_destroy=True))
    assert changes(provider, forced, made) == {}  # force_destroy steers delete, not the bucket
    provider.delete(ctx, forced, made)
    assert provider.read(ctx, forced, name) is None
    provider.delete(ctx, forced, made)  # already gone: not an error


def test_adopt_an_existing_bucket(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.s3_bucket")
    name = unique("old")
    s3 = _s3(moto_url)
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    ctx = context(tmp_path, "old")
    settings = provider.settings(_attrs(moto_url, name, versioning=True))
    adopted = provider.adopt(ctx, settings, name)
    assert adopted.resource_id == name and adopted.attributes["versioning"] is True
    # Adopted as it is: what differs from the manifest is what the next apply changes.
    assert set(changes(provider, settings, adopted)) == {"encryption", "public"}
    with pytest.raises(ProviderError, match="NoSuchBucket"):
        provider.adopt(ctx, settings, unique("missing"))


def test_errors_carry_the_aws_error_code(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.s3_bucket")
    name = unique("twice")
    ctx = context(tmp_path, "twice")
    settings = provider.settings(_attrs(moto_url, name, region="eu-west-1"))
    provider.create(ctx, settings)
    with pytest.raises(
        ProviderError, match=f"creating S3 bucket '{name}': BucketAlreadyOwnedByYou"
    ):
        provider.create(ctx, settings)


def test_settings_are_checked() -> None:
    provider = providers.get("aws.s3_bucket")
    with pytest.raises(ValueError, match="S3 bucket name"):
        provider.settings({"name": "Not_Valid"})
    with pytest.raises(ValueError, match="needs encryption: aws:kms"):
        provider.settings({"kms_key_id": "k"})
    with pytest.raises(ValueError, match="expire_days"):
        provider.settings({"lifecycle": [{"prefix": "x/"}]})
    with pytest.raises(ValueError, match="secret:NAME"):
        provider.settings({"secret_access_key": "plain-text-key"})
    with pytest.raises(ValueError, match="Extra inputs"):
        provider.settings({"versoning": True})


def test_without_boto3_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = providers.get("aws.s3_bucket")
    settings = provider.settings({"name": "some-bucket", "region": "us-east-1"})
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ProviderError, match=re.escape("pip install 'shipway[aws]'")):
        provider.read(context(tmp_path, "assets"), settings, "some-bucket")
