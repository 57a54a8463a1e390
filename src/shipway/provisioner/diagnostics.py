"""Provider attribute errors as manifest errors, at the attribute's `file:line:col`.

Resource attributes are validated by each provider's `Settings` model at plan time, not
by the manifest loader, so the positions are found here: the manifest's YAML is composed
again and the error path followed through the top level and the environment's `extends`
chain, as the loader does for its own errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from yaml.nodes import Node

from shipway.errors import ManifestError
from shipway.manifest import LoadedManifest
from shipway.manifest.diagnostics import describe, dotted
from shipway.manifest.models import extends_chain
from shipway.manifest.nodes import locate, position
from shipway.manifest.source import compose_manifest


def _layers(loaded: LoadedManifest, environment: str) -> list[Node]:
    root = compose_manifest(loaded.source_text, str(loaded.path))
    if root is None:
        return []
    layers = [root]
    if environment in loaded.manifest.environments:
        for env in reversed(extends_chain(loaded.manifest.environments, environment)):
            layers.append(locate(root, ("environments", env)).node)
    return layers


def error_at(
    loaded: LoadedManifest,
    environment: str,
    loc: Sequence[str | int],
    reason: str,
    *,
    at_key: bool = False,
) -> ManifestError:
    """A ManifestError about the manifest key `loc`, at the deepest place it is written."""
    layers = _layers(loaded, environment)
    if not layers:
        return ManifestError(f"{dotted(loc)}: {reason}", path=loaded.path)
    best = locate(layers[0], loc)
    for layer in layers[1:]:
        found = locate(layer, loc)
        if len(found.matched) >= len(best.matched):
            best = found
    node = best.key_node if at_key and best.key_node is not None else best.node
    line, column = position(node)
    return ManifestError(
        " ".join(f"{dotted(loc)}: {reason}".split()), path=loaded.path, line=line, column=column
    )


def settings_error(
    loaded: LoadedManifest, environment: str, name: str, error: ValidationError
) -> ManifestError:
    """The first of a provider's validation errors for resource `name`."""
    details = error.errors()[0]
    loc: tuple[str | int, ...] = ("resources", name, *details["loc"])
    at_key = details["type"] in ("extra_forbidden", "missing")
    if details["type"] == "missing":
        loc = loc[:-1]
    more = len(error.errors()) - 1
    reason = describe(details) + (
        f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    )
    return error_at(
        loaded, environment, loc, reason, at_key=at_key and details["type"] != "missing"
    )


__all__ = ["error_at", "settings_error"]
