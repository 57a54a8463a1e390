"""Providers by resource type: one module each, one line here.

Built-in modules are imported the first time their type is asked for, so a command that
touches only local resources never imports boto3. A plugin registers its own class with
`register` (the benchmark's sleeping test provider does).
"""

from __future__ import annotations

import importlib
import threading

from shipway.errors import InputError
from shipway.provisioner.providers.interface import Provider

#: type -> "module:Class" of shipway's own providers.
BUILTIN: dict[str, str] = {
    "local.directory": "shipway.provisioner.providers.local:LocalDirectoryProvider",
    "local.sqlite": "shipway.provisioner.providers.local:LocalSqliteProvider",
    "aws.s3_bucket": "shipway.provisioner.providers.aws_s3:S3BucketProvider",
    "aws.security_group": "shipway.provisioner.providers.aws_ec2:SecurityGroupProvider",
    "aws.secret": "shipway.provisioner.providers.aws_secrets:SecretProvider",
    "azure.blob_container": "shipway.provisioner.providers.azure:BlobContainerProvider",
    "gcp.storage_bucket": "shipway.provisioner.providers.gcp:StorageBucketProvider",
    "postgres.database": "shipway.provisioner.providers.postgres:PostgresDatabaseProvider",
    "postgres.role": "shipway.provisioner.providers.postgres_role:PostgresRoleProvider",
    "redis.acl_user": "shipway.provisioner.providers.redis:RedisAclUserProvider",
}

_registered: dict[str, type[Provider]] = {}
_lock = threading.Lock()


def register(provider: type[Provider]) -> type[Provider]:
    """Register a provider class under its `type`; usable as a class decorator."""
    with _lock:
        _registered[provider.type] = provider
    return provider


def types() -> list[str]:
    """Every resource type that can be provisioned."""
    with _lock:
        return sorted({*BUILTIN, *_registered})


def get(resource_type: str) -> Provider:
    """A provider instance for `resource_type`; InputError naming the known types if none."""
    with _lock:
        provider = _registered.get(resource_type)
    if provider is None and resource_type in BUILTIN:
        module, _, cls = BUILTIN[resource_type].partition(":")
        provider = getattr(importlib.import_module(module), cls)
        register(provider)
    if provider is None:
        known = ", ".join(types())
        raise InputError(f"unknown resource type {resource_type!r} (known: {known})")
    return provider()
