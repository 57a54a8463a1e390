"""Names shipway gives resources the manifest does not name: `PROJECT-ENVIRONMENT-NAME`,
in the characters and length each service allows. Shared by the cloud providers."""

from __future__ import annotations

import hashlib
import re

from shipway.provisioner.providers.interface import ProviderContext


def default_name(
    ctx: ProviderContext,
    *,
    max_length: int,
    separator: str = "-",
    allowed: str = "a-z0-9",
    lower: bool = True,
) -> str:
    """`PROJECT-ENVIRONMENT-NAME` made of the `allowed` characters (a regex class body)
    and `separator`, at most `max_length` long; other characters become `-`. A longer name
    is cut and ends with a digest of the whole, so two long names stay distinct."""
    raw = separator.join((ctx.project, ctx.environment, ctx.name))
    if lower:
        raw = raw.lower()
    name = re.sub(f"[^{allowed}{re.escape(separator)}]+", "-", raw)
    name = re.sub(r"-{2,}", "-", name).strip("-" + separator)
    if len(name) > max_length:
        digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
        name = name[: max_length - 9].rstrip("-" + separator) + "-" + digest
    return name


def observed_name(explicit: str | None, actual: str, default: str) -> str | None:
    """The `name` attribute as read: None when the manifest leaves the name to shipway and
    the resource has the name shipway gives it, so the two compare equal."""
    if explicit is None and actual == default:
        return None
    return actual
