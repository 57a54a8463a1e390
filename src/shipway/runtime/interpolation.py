"""Filling in the `${...}` references of a service's command and environment.

The runtime knows the values that belong to a release (`port`, `release`, `project`,
`environment`, `data_dir`) and the environment's `variables`; `resources.NAME.ATTR` come
from the environment's recorded resource outputs. Other namespaces (`config.`, `secret:`)
belong to the components that own them; a reference nobody resolves fails the release with
a clear message instead of starting a process with a literal `${...}` in its settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from shipway.errors import StageError

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_OWNERS = {
    "config.": "configuration",
    "secret:": "secrets",
    "env:": "configuration",
}


def render(text: str, values: Mapping[str, str], where: str) -> str:
    """`text` with every `${name}` replaced; `$${` stays a literal `${`."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "${"
        if name in values:
            return values[name]
        if name.startswith("resources."):
            provisioned = sorted({k.split(".")[1] for k in values if k.startswith("resources.")})
            raise StageError(
                f"{where}: ${{{name}}} is not an output of a provisioned resource "
                f"(provisioned: {', '.join(provisioned) or 'none'}; run shipway provision apply)"
            )
        for prefix, owner in _OWNERS.items():
            if name.startswith(prefix):
                raise StageError(
                    f"{where}: ${{{name}}} needs {owner}, which no installed component resolves yet"
                )
        known = ", ".join(sorted(values))
        raise StageError(f"{where}: unknown reference ${{{name}}} (known here: {known})")

    return _REFERENCE.sub(replace, text)
