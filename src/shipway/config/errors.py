"""The configuration manager's errors: bad layers and values (exit 2, with `file:line:col`),
and secret backends that fail or lack a secret.

No message built here ever holds a secret's value: only names and positions.
"""

from __future__ import annotations

from shipway.errors import ManifestError, NotFoundError, ShipwayError


class ConfigError(ManifestError):
    """A configuration layer or value that cannot be used, at `file:line:col` when known."""


class SecretError(ShipwayError):
    """A secret backend could not be reached, read or written."""


class SecretNotFoundError(SecretError, NotFoundError):
    """The backend has no secret of that name (for that environment)."""
