"""Label and annotation templates: `{{ $labels.NAME }}` and `{{ $value }}`, as Prometheus
renders them for the same rule, by plain substitution (nothing else is evaluated).

The manifest loader accepts only these two forms (see `manifest/monitoring.py`), so a
template cannot reach anything but the alert's own labels and value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

_FIELD = re.compile(r"\{\{\s*\$(value|labels\.([A-Za-z_][A-Za-z0-9_]*))\s*\}\}")
#: What Go's text/template prints for a missing map key, which Prometheus shows.
NO_VALUE = "<no value>"


def format_value(value: float) -> str:
    """A float as Go's `%v` prints it (`2`, `0.25`, `1e+21`, `NaN`, `+Inf`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, _, exponent = text.partition("e")
        sign = "-" if exponent.startswith("-") else "+"
        text = f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
    return text


def expand(template: str, labels: Mapping[str, str], value: float) -> str:
    """`template` with every `{{ $labels.NAME }}` and `{{ $value }}` filled in."""

    def replace(match: re.Match[str]) -> str:
        if match[1] == "value":
            return format_value(value)
        return labels.get(match[2], NO_VALUE)

    return _FIELD.sub(replace, template)


def expand_all(
    templates: Mapping[str, str], labels: Mapping[str, str], value: float
) -> dict[str, str]:
    return {name: expand(text, labels, value) for name, text in templates.items()}
