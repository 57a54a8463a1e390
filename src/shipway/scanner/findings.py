"""What a scanner reports: `Finding`s with a `Severity` and a `Location`, and the `Rule`s
they come from.

Findings are frozen: the engine adds compliance controls and suppressions by building new
ones (`dataclasses.replace`), never by changing a scanner's output in place.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class Severity(enum.IntEnum):
    """How bad a finding is; ordered, so `finding.severity >= Severity.HIGH` reads well."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """`critical`, `high`, `medium` (or `moderate`) and `low`, in any case."""
        key = text.strip().upper()
        if key == "MODERATE":
            key = "MEDIUM"
        try:
            return cls[key]
        except KeyError:
            known = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r}; use one of: {known}") from None


@dataclass(frozen=True)
class Location:
    """Where a finding is: a path relative to the scanned folder (POSIX separators), the
    1-based line and column when known, and the commit when it was found in git history."""

    path: str
    line: int | None = None
    column: int | None = None
    commit: str | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        if self.commit:
            where += f" @ {self.commit[:12]}"
        return where


@dataclass(frozen=True)
class Rule:
    """A kind of finding: what is wrong, why it matters, how to fix it."""

    id: str
    title: str
    why: str
    fix: str
    severity: Severity


@dataclass(frozen=True)
class Finding:
    """One problem at one place.

    `id` names the problem itself (an advisory id such as PYSEC-2021-76, or a secret's
    fingerprint id); `rule` names the kind of problem. `security.ignore` entries match
    either, or any alias. `properties` carries scanner-specific facts (package, version,
    redacted value, ...): strings only, never a secret's value.
    """

    id: str
    rule: str
    scanner: str
    severity: Severity
    location: Location
    title: str
    why: str
    fix: str
    controls: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, hash=False
    )
    #: 0-10, set by the engine from severity or CVSS and the context (see `risk.py`).
    risk: float = 0.0
    risk_reasons: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """Stable across runs while the problem stays: rule, id and place (not the line,
        which moves as the file is edited above it)."""
        key = "\0".join((self.rule, self.id, self.location.path, self.location.commit or ""))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    def names(self) -> tuple[str, ...]:
        """Every name an ignore entry may use for this finding."""
        return (self.id, self.rule, *self.aliases)
