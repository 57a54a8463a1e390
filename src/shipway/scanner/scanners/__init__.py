"""Scanners by name. Adding one means one module and one line in `SCANNERS`."""

from __future__ import annotations

import importlib

from shipway.errors import InputError
from shipway.scanner.scanners.interface import ScanInputError, Scanner, ScannerError, ScanTarget

#: Built-in scanners: name -> "module:Class", imported only when used.
SCANNERS: dict[str, str] = {
    "dependencies": "shipway.scanner.scanners.dependencies:DependencyScanner",
    "secrets": "shipway.scanner.scanners.secrets:SecretScanner",
    "misconfiguration": "shipway.scanner.scanners.misconfiguration:MisconfigurationScanner",
    "code": "shipway.scanner.scanners.code:CodeScanner",
    "runtime": "shipway.scanner.scanners.runtime:RuntimeScanner",
}

#: Names the manifest may list whose scanners this version does not ship yet.
PLANNED: frozenset[str] = frozenset()


def load_scanner(name: str) -> Scanner:
    """A new scanner instance for `name`; InputError for a name nobody knows."""
    spec = SCANNERS.get(name)
    if spec is None:
        known = ", ".join(sorted(SCANNERS.keys() | PLANNED))
        raise InputError(f"unknown scanner {name!r}; known scanners: {known}")
    module_name, _, class_name = spec.partition(":")
    scanner_cls = getattr(importlib.import_module(module_name), class_name)
    scanner: Scanner = scanner_cls()
    return scanner


__all__ = [
    "PLANNED",
    "SCANNERS",
    "ScanInputError",
    "ScanTarget",
    "Scanner",
    "ScannerError",
    "load_scanner",
]
