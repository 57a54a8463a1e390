"""`aws.s3_bucket`: an S3 bucket with versioning, default encryption, the public access
block, lifecycle rules and tags.

The name defaults to `PROJECT-ENVIRONMENT-NAME` made a valid bucket name (lowercase
letters, digits and `-`, 3 to 63 characters). `public: false` (the default) sets the
public access block with all four settings on; `public: true` removes it. Deleting a bucket
that still holds objects is refused unless `force_destroy: true`, which first deletes every
object version and delete marker (as Terraform's `force_destroy`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from shipway.provisioner.providers.aws import (
    CONNECTION,
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

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_BLOCK_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
#: How many keys one DeleteObjects call may name.
_DELETE_BATCH = 1000
#: Attributes that only steer what shipway does, not what the bucket is.
_BEHAVIOUR = frozenset({"force_destroy"})


class Transition(ProviderSettings):
    days: int = Field(ge=0)
    storage_class: Literal[
        "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"
    ]


class LifecycleRule(ProviderSettings):
    """One lifecycle rule over the objects under `prefix` ("" = the whole bucket)."""

    id: str | None = None
    prefix: str = ""
    enabled: bool = True
    expire_days: int | None = Field(default=None, ge=1)
    noncurrent_expire_days: int | None = Field(default=None, ge=1)
    transitions: list[Transition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_action(self) -> LifecycleRule:
        if (
            self.expire_days is None
            and self.noncurrent_expire_days is None
            and not self.transitions
        ):
            raise ValueError("a rule needs expire_days, noncurrent_expire_days or transitions")
        return self


class S3BucketSettings(AwsSettings):
    name: str | None = None
    versioning: bool = False
    encryption: Literal["AES256", "aws:kms"] = "AES256"
    kms_key_id: str | None = None
    public: bool = False
    lifecycle: list[LifecycleRule] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    force_destroy: bool = False

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and (not _BUCKET_NAME.fullmatch(value) or ".." in value):
            raise ValueError(
                "an S3 bucket name has 3-63 lowercase letters, digits, '.' and '-', "
                "and starts and ends with a letter or digit"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> S3BucketSettings:
        if self.kms_key_id and self.encryption != "aws:kms":
            raise ValueError("kms_key_id needs encryption: aws:kms")
        ids = [rule.id for rule in self.lifecycle if rule.id is not None]
        if len(ids) != len(set(ids)):
            raise ValueError("lifecycle rule ids must be unique")
        return self


def _lifecycle_shape(rules: list[LifecycleRule]) -> list[dict[str, Any]]:
    shaped = [
        {
            "id": rule.id or f"rule-{index}",
            "prefix": rule.prefix,
            "enabled": rule.enabled,
            "expire_days": rule.expire_days,
            "noncurrent_expire_days": rule.noncurrent_expire_days,
            "transitions": sorted(
                ({"days": t.days, "storage_class": t.storage_class} for t in rule.transitions),
                key=lambda t: (t["days"], t["storage_class"]),
            ),
        }
        for index, rule in enumerate(rules, start=1)
    ]
    return sorted(shaped, key=lambda rule: str(rule["id"]))


def _lifecycle_read(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shaped = []
    for rule in rules:
        where = rule.get("Filter") or {}
        prefix = where.get("Prefix", where.get("And", {}).get("Prefix", rule.get("Prefix", "")))
        transitions = [
            {"days": t.get("Days"), "storage_class": t.get("StorageClass")}
            for t in rule.get("Transitions", [])
        ]
        shaped.append(
            {
                "id": rule.get("ID"),
                "prefix": prefix or "",
                "enabled": rule.get("Status") == "Enabled",
                "expire_days": rule.get("Expiration", {}).get("Days"),
                "noncurrent_expire_days": rule.get("NoncurrentVersionExpiration", {}).get(
                    "NoncurrentDays"
                ),
                "transitions": sorted(transitions, key=lambda t: (t["days"], t["storage_class"])),
            }
        )
    return sorted(shaped, key=lambda rule: str(rule["id"]))


def _lifecycle_request(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    request = []
    for rule in rules:
        entry: dict[str, Any] = {
            "ID": rule["id"],
            "Filter": {"Prefix": rule["prefix"]},
            "Status": "Enabled" if rule["enabled"] else "Disabled",
        }
        if rule["expire_days"] is not None:
            entry["Expiration"] = {"Days": rule["expire_days"]}
        if rule["noncurrent_expire_days"] is not None:
            entry["NoncurrentVersionExpiration"] = {
                "NoncurrentDays": rule["noncurrent_expire_days"]
            }
        if rule["transitions"]:
            entry["Transitions"] = [
                {"Days": t["days"], "StorageClass": t["storage_class"]} for t in rule["transitions"]
            ]
        request.append(entry)
    return request


def _optional(call: Any, missing: str, **kwargs: Any) -> dict[str, Any] | None:
    """The answer of `call`, or None when S3 answers with the error code `missing`."""
    try:
        answer: dict[str, Any] = call(**kwargs)
    except Exception as e:
        if error_code(e) == missing:
            return None
        raise
    return answer


class S3BucketProvider(Provider):
    type = "aws.s3_bucket"
    missing = "NoSuchBucket: bucket"
    Settings = S3BucketSettings
    replace_on = frozenset({"name", "region"})

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        assert isinstance(settings, S3BucketSettings)
        return settings.name or name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        assert isinstance(settings, S3BucketSettings)
        wanted = settings.model_dump(mode="json", exclude=set(CONNECTION | _BEHAVIOUR))
        wanted["region"] = region_of(settings)
        wanted["lifecycle"] = _lifecycle_shape(settings.lifecycle)
        return wanted

    def _bucket(self, ctx: ProviderContext, settings: S3BucketSettings, resource_id: str) -> str:
        # NOTE: with no name in the manifest and nothing recorded, the engine asks for the
        # manifest name (resource_id() cannot see the project and environment).
        if settings.name is None and resource_id == ctx.name:
            return default_name(ctx, max_length=63)
        return resource_id

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        assert isinstance(settings, S3BucketSettings)
        if UNKNOWN in resource_id:
            return None  # named after a resource not applied yet: not made yet
        bucket = self._bucket(ctx, settings, resource_id)
        s3 = client(ctx, settings, "s3")
        try:
            s3.head_bucket(Bucket=bucket)
        except Exception as e:
            if error_code(e) in {"404", "NoSuchBucket"}:
                return None
            raise aws_error(f"reading S3 bucket {bucket!r}", e) from None
        try:
            return self._observe(ctx, settings, s3, bucket)
        except Exception as e:
            raise aws_error(f"reading S3 bucket {bucket!r}", e) from None

    def _observe(
        self, ctx: ProviderContext, settings: S3BucketSettings, s3: Any, bucket: str
    ) -> Observed:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)
        versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled"
        encryption: str | None = None
        kms_key_id: str | None = None
        sse = _optional(
            s3.get_bucket_encryption,
            "ServerSideEncryptionConfigurationNotFoundError",
            Bucket=bucket,
        )
        if sse is not None:
            rules = sse.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
            encryption = default.get("SSEAlgorithm")
            kms_key_id = default.get("KMSMasterKeyID")
        block = _optional(
            s3.get_public_access_block, "NoSuchPublicAccessBlockConfiguration", Bucket=bucket
        )
        flags = [
            bool((block or {}).get("PublicAccessBlockConfiguration", {}).get(k))
            for k in _BLOCK_KEYS
        ]
        public: bool | str = "partial" if any(flags) and not all(flags) else not all(flags)
        lifecycle = _optional(
            s3.get_bucket_lifecycle_configuration, "NoSuchLifecycleConfiguration", Bucket=bucket
        )
        tags = _optional(s3.get_bucket_tagging, "NoSuchTagSet", Bucket=bucket)
        attributes = {
            "name": observed_name(settings.name, bucket, default_name(ctx, max_length=63)),
            "versioning": versioning,
            "encryption": encryption,
            "kms_key_id": kms_key_id,
            "public": public,
            "lifecycle": _lifecycle_read((lifecycle or {}).get("Rules", [])),
            "tags": tag_dict((tags or {}).get("TagSet")),
            "region": region,
        }
        endpoint = str(s3.meta.endpoint_url).rstrip("/")
        if "amazonaws.com" in endpoint:
            endpoint = f"https://{bucket}.s3.{region}.amazonaws.com"
        else:
            endpoint = f"{endpoint}/{bucket}"
        outputs = {
            "name": bucket,
            "arn": f"arn:aws:s3:::{bucket}",
            "region": region,
            "url": f"s3://{bucket}",
            "endpoint": endpoint,
        }
        return Observed(resource_id=bucket, attributes=attributes, outputs=outputs)

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        assert isinstance(settings, S3BucketSettings)
        bucket = settings.name or default_name(ctx, max_length=63)
        s3 = client(ctx, settings, "s3")
        region = region_of(settings)
        request: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**request)
            wanted = self.desired(settings)
            self._apply(s3, bucket, settings, wanted, set(wanted))
            return self._observe(ctx, settings, s3, bucket)
        except Exception as e:
            raise aws_error(f"creating S3 bucket {bucket!r}", e) from None

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        assert isinstance(settings, S3BucketSettings)
        bucket = current.resource_id
        s3 = client(ctx, settings, "s3")
        try:
            self._apply(s3, bucket, settings, self.desired(settings), set(changes))
            return self._observe(ctx, settings, s3, bucket)
        except Exception as e:
            raise aws_error(f"updating S3 bucket {bucket!r}", e) from None

    def _apply(
        self,
        s3: Any,
        bucket: str,
        settings: S3BucketSettings,
        wanted: dict[str, Any],
        keys: set[str],
    ) -> None:
        if "public" in keys:
            if settings.public:
                s3.delete_public_access_block(Bucket=bucket)
            else:
                s3.put_public_access_block(
                    Bucket=bucket,
                    PublicAccessBlockConfiguration=dict.fromkeys(_BLOCK_KEYS, True),
                )
        if keys & {"encryption", "kms_key_id"}:
            default: dict[str, str] = {"SSEAlgorithm": settings.encryption}
            if settings.kms_key_id:
                default["KMSMasterKeyID"] = settings.kms_key_id
            s3.put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
                },
            )
        if "versioning" in keys:
            status = "Enabled" if settings.versioning else "Suspended"
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
        if "lifecycle" in keys:
            if wanted["lifecycle"]:
                s3.put_bucket_lifecycle_configuration(
                    Bucket=bucket,
                    LifecycleConfiguration={"Rules": _lifecycle_request(wanted["lifecycle"])},
                )
            else:
                s3.delete_bucket_lifecycle(Bucket=bucket)
        if "tags" in keys:
            if settings.tags:
                s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(settings.tags)})
            else:
                s3.delete_bucket_tagging(Bucket=bucket)

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        assert isinstance(settings, S3BucketSettings)
        bucket = current.resource_id
        s3 = client(ctx, settings, "s3")
        try:
            first = s3.list_object_versions(Bucket=bucket, MaxKeys=1)
            if first.get("Versions") or first.get("DeleteMarkers"):
                if not settings.force_destroy:
                    raise ProviderError(
                        f"deleting S3 bucket {bucket!r}: BucketNotEmpty: the bucket still holds "
                        "objects; set force_destroy: true to delete them with it"
                    )
                self._empty(ctx, s3, bucket)
            s3.delete_bucket(Bucket=bucket)
        except Exception as e:
            if error_code(e) == "NoSuchBucket":
                return
            raise aws_error(f"deleting S3 bucket {bucket!r}", e) from None

    def _empty(self, ctx: ProviderContext, s3: Any, bucket: str) -> None:
        """Delete every object version and delete marker of `bucket`."""
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        batch: list[dict[str, str]] = []
        for page in pages:
            for entry in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                batch.append({"Key": entry["Key"], "VersionId": entry["VersionId"]})
                if len(batch) == _DELETE_BATCH:
                    self._delete_objects(s3, bucket, batch)
                    batch = []
                    ctx.check_cancelled()
        if batch:
            self._delete_objects(s3, bucket, batch)

    @staticmethod
    def _delete_objects(s3: Any, bucket: str, batch: list[dict[str, str]]) -> None:
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        errors = answer.get("Errors") or []
        if errors:
            first = errors[0]
            raise ProviderError(
                f"emptying S3 bucket {bucket!r}: {first.get('Code')}: {first.get('Message')} "
                f"({first.get('Key')!r} and {len(errors) - 1} more)"
            )
