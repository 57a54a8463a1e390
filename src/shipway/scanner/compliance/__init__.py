"""Compliance frameworks as data files (`<framework>.yaml` beside this module): which rules
give evidence for which control. Findings get the controls their rule maps to."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from shipway.errors import InputError

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Control:
    framework: str
    id: str
    title: str
    rules: tuple[str, ...]

    @property
    def label(self) -> str:
        """How a finding shows it, e.g. `SOC2 CC6.1`."""
        return f"{self.framework.upper()} {self.id}"

    def covers(self, rule: str) -> bool:
        return any(fnmatch.fnmatchcase(rule, pattern) for pattern in self.rules)


def frameworks() -> list[str]:
    """The frameworks shipped, by name."""
    return sorted(path.stem for path in _HERE.glob("*.yaml"))


@cache
def controls(framework: str) -> tuple[Control, ...]:
    """The controls of `framework`, in file order; InputError for an unknown name."""
    path = _HERE / f"{framework}.yaml"
    if framework not in frameworks():
        known = ", ".join(frameworks())
        raise InputError(f"unknown compliance framework {framework!r}; known: {known}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(
        Control(framework, str(key), str(value["title"]), tuple(value.get("rules") or ()))
        for key, value in data["controls"].items()
    )


def controls_for(rule: str, selected: tuple[str, ...]) -> tuple[str, ...]:
    """Labels of the controls of `selected` frameworks (all when empty) that `rule` maps to."""
    names = selected or tuple(frameworks())
    return tuple(c.label for name in names for c in controls(name) if c.covers(rule))
