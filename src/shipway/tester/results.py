"""Results of a test run, shaped like JUnit: a run holds one report per kind, a kind
holds cases, a case passed, failed (its check did not hold), errored (it could not be
checked) or was skipped. Frozen and JSON-ready, so the same values feed the JUnit file,
`--output json`, the stage's outputs and the Rich summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Literal

CaseStatus = Literal["passed", "failed", "error", "skipped"]
STATUSES: tuple[CaseStatus, ...] = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class CaseResult:
    """One JUnit test case. `suite` groups cases (`api.main`, `contract`, ...); `message`
    is one line, `details` the longer text a failure shows; `artifacts` are paths of files
    kept for it (responses, screenshots, traces); `data` is kind-specific JSON."""

    kind: str
    suite: str
    name: str
    status: CaseStatus
    seconds: float = 0.0
    message: str = ""
    details: str = ""
    artifacts: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped")

    def with_artifacts(self, *paths: str) -> CaseResult:
        return replace(self, artifacts=(*self.artifacts, *paths))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "suite": self.suite,
            "name": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 4),
            "message": self.message,
            "details": self.details,
            "artifacts": list(self.artifacts),
            "properties": dict(self.properties),
            "data": dict(self.data),
        }


@dataclass(frozen=True)
class KindReport:
    """The cases one kind produced, and how long it took."""

    kind: str
    cases: tuple[CaseResult, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        return all(case.ok for case in self.cases)

    def counts(self) -> dict[str, int]:
        found = Counter(case.status for case in self.cases)
        return {status: found.get(status, 0) for status in STATUSES}

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "counts": self.counts(),
            "cases": [case.to_dict() for case in self.cases],
        }


@dataclass(frozen=True)
class RunReport:
    """A whole test run against one URL."""

    target: str | None
    kinds: tuple[KindReport, ...]
    seconds: float
    artifacts_dir: str | None = None

    @property
    def passed(self) -> bool:
        return all(kind.passed for kind in self.kinds)

    @property
    def cases(self) -> list[CaseResult]:
        return [case for kind in self.kinds for case in kind.cases]

    @property
    def failures(self) -> list[CaseResult]:
        return [case for case in self.cases if not case.ok]

    def counts(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for kind in self.kinds:
            total.update(kind.counts())
        return {status: total.get(status, 0) for status in STATUSES}

    def summary(self) -> str:
        """`12 passed, 1 failed in 3.2s`: only the non-zero counts."""
        counts = self.counts()
        parts = [f"{n} {status}" for status, n in counts.items() if n]
        return f"{', '.join(parts) or 'no tests'} in {self.seconds:.1f}s"

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "passed": self.passed,
            "summary": self.summary(),
            "counts": self.counts(),
            "seconds": round(self.seconds, 3),
            "artifacts_dir": self.artifacts_dir,
            "kinds": [kind.to_dict() for kind in self.kinds],
        }
