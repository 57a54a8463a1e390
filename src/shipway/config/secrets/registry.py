"""Secret backends by name. A built-in is one line here; a plugin registers its class with
`register` when its module is imported (`config.secrets.backend` names it)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipway.config.secrets.interface import BackendScope, SecretBackend
from shipway.errors import InputError

BUILTIN: dict[str, str] = {
    "local": "shipway.config.secrets.local:LocalSecretBackend",
    "env": "shipway.config.secrets.env:EnvSecretBackend",
    "file": "shipway.config.secrets.file:FileSecretBackend",
    "aws": "shipway.config.secrets.aws:AwsSecretBackend",
    "vault": "shipway.config.secrets.vault:VaultSecretBackend",
}
_PLUGINS: dict[str, type[SecretBackend]] = {}


def register(backend: type[SecretBackend]) -> type[SecretBackend]:
    """Register a backend class under its `name`; usable as a class decorator."""
    _PLUGINS[backend.name] = backend
    return backend


def backend_class(name: str) -> type[SecretBackend]:
    if name in _PLUGINS:
        return _PLUGINS[name]
    if name not in BUILTIN:
        known = ", ".join(sorted({*BUILTIN, *_PLUGINS}))
        raise InputError(f"unknown secret backend {name!r} (known: {known})")
    module, _, attribute = BUILTIN[name].partition(":")
    cls: type[SecretBackend] = getattr(importlib.import_module(module), attribute)
    return cls


def open_backend(
    name: str,
    *,
    project: str,
    environment: str,
    base_dir: Path,
    home: Path,
    settings: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> SecretBackend:
    """The backend `name` serving `project`/`environment`."""
    scope = BackendScope(
        project=project,
        environment=environment,
        base_dir=base_dir,
        home=home,
        settings=dict(settings or {}),
        env=dict(os.environ if env is None else env),
    )
    return backend_class(name)(scope)
