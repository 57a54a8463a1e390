"""Misconfiguration rules over the manifest, the merged configuration and provisioned
resources, one module each. Adding one means one module and one line in `RULES`; its
compliance controls go in `scanner/compliance/*.yaml`."""

from __future__ import annotations

from shipway.scanner.misconfig.approval import ProductionWithoutApproval
from shipway.scanner.misconfig.credentials import DefaultCredentials
from shipway.scanner.misconfig.debug import DebugInProduction
from shipway.scanner.misconfig.directory_mode import WorldAccessibleDirectory
from shipway.scanner.misconfig.encryption import UnencryptedStorage
from shipway.scanner.misconfig.health import ServiceWithoutHealthCheck
from shipway.scanner.misconfig.ingress import OpenAdminPort
from shipway.scanner.misconfig.interface import (
    ConfigView,
    ManifestView,
    MisconfigRule,
    ResourceView,
)
from shipway.scanner.misconfig.limits import ServiceWithoutMemoryLimit
from shipway.scanner.misconfig.open_world import OpenToTheWorld
from shipway.scanner.misconfig.plaintext_secret import PlaintextSecret
from shipway.scanner.misconfig.public_bucket import PublicBucket
from shipway.scanner.misconfig.redis_acl import RedisDangerousCommands
from shipway.scanner.misconfig.superuser import DatabaseSuperuser
from shipway.scanner.misconfig.tls import TlsDisabled
from shipway.scanner.misconfig.uniform_access import BucketAclsNotUniform
from shipway.scanner.misconfig.versioning import BucketVersioningDisabled

RULES: tuple[MisconfigRule, ...] = (
    ProductionWithoutApproval(),
    DebugInProduction(),
    DefaultCredentials(),
    OpenAdminPort(),
    PublicBucket(),
    UnencryptedStorage(),
    TlsDisabled(),
    ServiceWithoutMemoryLimit(),
    ServiceWithoutHealthCheck(),
    PlaintextSecret(),
    OpenToTheWorld(),
    BucketVersioningDisabled(),
    BucketAclsNotUniform(),
    RedisDangerousCommands(),
    DatabaseSuperuser(),
    WorldAccessibleDirectory(),
)

__all__ = ["RULES", "ConfigView", "ManifestView", "MisconfigRule", "ResourceView"]
