"""The resource graph: edges from `depends_on` and from `${resources.NAME.ATTR}`
references, a dependency-first order, and the resolution of those references.

The manifest loader already refused cycles and unknown names with a position
(`manifest/consistency.py`); here the graph is only walked.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from shipway.manifest.references import resource_references
from shipway.manifest.sections import ResourceSpec
from shipway.provisioner.errors import ProvisionError
from shipway.provisioner.providers.interface import UNKNOWN

_REFERENCE = re.compile(r"\$\$\{|\$\{resources\.([^}.]+)\.([^}]+)\}")


def dependencies_of(spec: ResourceSpec) -> list[str]:
    """The resources `spec` needs first: `depends_on`, then those its attributes name."""
    names = dict.fromkeys(spec.depends_on)
    for _, reference in resource_references(spec.attributes):
        names.setdefault(reference.partition(".")[0])
    return list(names)


def order(dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    """Every name after the names it depends on; otherwise in the given order (Kahn)."""
    waits = {name: {d for d in deps if d in dependencies} for name, deps in dependencies.items()}
    dependents: dict[str, list[str]] = {name: [] for name in dependencies}
    for name, deps in waits.items():
        for dep in deps:
            dependents[dep].append(name)
    ready = deque(name for name, deps in waits.items() if not deps)
    out: list[str] = []
    while ready:
        name = ready.popleft()
        out.append(name)
        for dependent in dependents[name]:
            waits[dependent].discard(name)
            if not waits[dependent]:
                ready.append(dependent)
    if len(out) != len(waits):
        stuck = sorted(set(waits) - set(out))
        raise ProvisionError(f"resources depend on each other in a cycle: {', '.join(stuck)}")
    return out


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))


def resolve(value: Any, outputs: Mapping[str, Mapping[str, Any]], *, strict: bool) -> Any:
    """`value` with each `${resources.NAME.ATTR}` replaced by NAME's output ATTR.

    A whole-value reference keeps the output's type. A resource without outputs yet gives
    `UNKNOWN` ("known after apply"), or a ProvisionError when `strict` (at apply time)."""
    if isinstance(value, dict):
        return {k: resolve(v, outputs, strict=strict) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, outputs, strict=strict) for v in value]
    if not isinstance(value, str) or "${resources." not in value:
        return value
    unknown = False

    def lookup(match: re.Match[str]) -> Any:
        nonlocal unknown
        if match.group(1) is None:
            return "$${"
        name, attribute = match.group(1), match.group(2)
        found = outputs.get(name)
        if found is None or attribute not in found:
            if strict:
                has = ", ".join(sorted(found)) if found is not None else "no outputs yet"
                raise ProvisionError(
                    f"${{resources.{name}.{attribute}}}: resource {name!r} has no output "
                    f"{attribute!r} ({has})"
                )
            unknown = True
            return UNKNOWN
        return found[attribute]

    whole = _REFERENCE.fullmatch(value)
    if whole is not None and whole.group(1) is not None:
        result = lookup(whole)
        return UNKNOWN if unknown else result
    text = _REFERENCE.sub(lambda m: _text(lookup(m)), value)
    return UNKNOWN if unknown else text


def contains_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return bool(value == UNKNOWN)
