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
BUILTIN: dict[str, str] = {}

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
