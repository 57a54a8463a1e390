"""Misconfiguration rules over the manifest, one module each. Adding one means one module
and one line in `RULES`; its compliance controls go in `scanner/compliance/*.yaml`."""

from __future__ import annotations

from shipway.scanner.misconfig.approval import ProductionWithoutApproval
from shipway.scanner.misconfig.credentials import DefaultCredentials
from shipway.scanner.misconfig.debug import DebugInProduction
from shipway.scanner.misconfig.encryption import UnencryptedStorage
from shipway.scanner.misconfig.health import ServiceWithoutHealthCheck
from shipway.scanner.misconfig.ingress import OpenAdminPort
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule
from shipway.scanner.misconfig.limits import ServiceWithoutMemoryLimit
from shipway.scanner.misconfig.public_bucket import PublicBucket
from shipway.scanner.misconfig.tls import TlsDisabled

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
)

__all__ = ["RULES", "ManifestView", "MisconfigRule"]
