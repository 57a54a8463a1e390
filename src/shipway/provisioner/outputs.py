"""Resource outputs as the values `${resources.NAME.ATTR}` gives services.

Credentials stay `${secret:resources/NAME/KEY}` references: the release records the
reference, and the value is only revealed in the environment of the process it starts
(`config.delivery.reveal_process`), like every other secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def resource_values(outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """`resources.NAME.ATTR` -> text, for every recorded output."""
    values = {}
    for name, attributes in outputs.items():
        for key, value in attributes.items():
            values[f"resources.{name}.{key}"] = _text(value)
    return values


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
