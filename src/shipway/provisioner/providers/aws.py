"""What the AWS resource types share: connection settings, clients with timeouts, default
names, and turning botocore errors into `ProviderError`s that carry AWS's own error code.

The types live beside this module: `aws_s3` (`aws.s3_bucket`), `aws_ec2`
(`aws.security_group`) and `aws_secrets` (`aws.secret`). Credentials come from the standard
AWS chain (environment, shared config and credentials files, instance roles), or from the
`access_key_id` / `secret_access_key` attributes, whose secret parts must be
`${secret:NAME}` references. `endpoint_url` (or `AWS_ENDPOINT_URL`, which boto3 reads
itself) points the calls at an emulator or an S3-compatible store. Needs boto3
(`pip install 'shipway[aws]'`).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import field_validator

from shipway.provisioner.providers.interface import (
    ProviderContext,
    ProviderError,
    ProviderSettings,
)

#: The attributes of every AWS type that say where and as whom to call, not what to make.
CONNECTION = frozenset(
    {"region", "endpoint_url", "profile", "access_key_id", "secret_access_key", "session_token"}
)
_REFERENCE = re.compile(r"\$\{secret:[^}]+\}")


class AwsSettings(ProviderSettings):
    """Connection attributes common to the `aws.*` types."""

    region: str | None = None
    endpoint_url: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None

    @field_validator("secret_access_key", "session_token")
    @classmethod
    def _reference_only(cls, value: str | None) -> str | None:
        if value is not None and not _REFERENCE.search(value):
            raise ValueError("must be a ${secret:NAME} reference, not the key itself")
        return value


def boto3_module() -> Any:
    """The boto3 module, or a ProviderError saying how to install it."""
    try:
        import boto3
    except ImportError as e:
        raise ProviderError(
            "the aws.* resource types need boto3: pip install 'shipway[aws]'"
        ) from e
    return boto3


def region_of(settings: AwsSettings) -> str:
    """The region the resource lives in: the attribute, else the SDK's configured default
    (AWS_REGION, AWS_DEFAULT_REGION, the profile), else us-east-1."""
    if settings.region:
        return settings.region
    session = boto3_module().session.Session(profile_name=settings.profile)
    return str(session.region_name or "us-east-1")


def client(ctx: ProviderContext, settings: AwsSettings, service: str) -> Any:
    """A boto3 client for `service` with the resource's connection settings; every call
    times out after `ctx.timeout` seconds and is retried at most three times."""
    boto3 = boto3_module()
    from botocore.config import Config

    keys: dict[str, str] = {}
    if settings.access_key_id:
        keys["aws_access_key_id"] = ctx.reveal(settings.access_key_id)
    if settings.secret_access_key:
        keys["aws_secret_access_key"] = ctx.reveal(settings.secret_access_key)
    if settings.session_token:
        keys["aws_session_token"] = ctx.reveal(settings.session_token)
    config = Config(
        connect_timeout=ctx.timeout,
        read_timeout=ctx.timeout,
        retries={"max_attempts": 3, "mode": "standard"},
    )
    try:
        session = boto3.session.Session(profile_name=settings.profile, **keys)
        return session.client(
            service,
            region_name=region_of(settings),
            endpoint_url=settings.endpoint_url or None,
            config=config,
        )
    except Exception as e:
        raise aws_error(f"connecting to AWS {service}", e) from None


def error_code(error: BaseException) -> str | None:
    """AWS's error code of a botocore ClientError (`NoSuchBucket`), else None."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code")
    return str(code) if code else None


def aws_error(doing: str, error: Exception) -> ProviderError:
    """`error` as a ProviderError: `doing: Code: AWS's message`."""
    if isinstance(error, ProviderError):
        return error
    code = error_code(error)
    if code is not None:
        response: dict[str, Any] = getattr(error, "response", {})
        message = str(response.get("Error", {}).get("Message") or "").strip()
        return ProviderError(f"{doing}: {code}: {message}" if message else f"{doing}: {code}")
    return ProviderError(f"{doing}: {type(error).__name__}: {error}")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


def tag_dict(tags: list[dict[str, Any]] | None) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags or []}
