"""The `TestKind` plugin seam: one kind of test (api, contract, e2e, load, services).

A kind reads its part of the `tests` section and yields JUnit-compatible cases as they
finish. It never prints: progress goes to the run's observer. Failing checks are cases
with status `failed`; a kind that cannot run at all (a missing browser, an unreadable
OpenAPI document) raises `TestKindError`, and the engine records one `error` case.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from shipway.errors import ShipwayError
from shipway.manifest.testing import IntegrationTestsSpec
from shipway.tester.artifacts import ArtifactStore
from shipway.tester.references import References
from shipway.tester.results import CaseResult


class TestKindError(ShipwayError):
    """A kind could not run: its cases cannot say anything about the release."""

    __test__ = False


class Observer:
    """Receives progress while tests run. The default ignores it; the CLI draws it.
    Called from the thread that runs the kind: implementations must be thread-safe."""

    def case_finished(self, case: CaseResult) -> None:
        """A case has a result."""

    def progress(self, kind: str, data: dict[str, Any]) -> None:
        """A long kind's interim state (the load test's rate and percentiles)."""


@dataclass(frozen=True)
class TestTarget:
    """What a kind runs against, and where it may keep things."""

    __test__ = False

    base_url: str | None
    base_dir: Path
    artifacts: ArtifactStore
    references: References
    cache_dir: Path
    observer: Observer = field(default_factory=Observer)
    cancel: threading.Event = field(default_factory=threading.Event)

    def require_url(self, kind: str) -> str:
        if self.base_url is None:
            raise TestKindError(f"{kind} tests need the URL of a service, and there is none")
        return self.base_url.rstrip("/")

    def inside(self, relative: str) -> Path:
        """A manifest path, resolved and confined to the manifest's folder."""
        root = self.base_dir.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root):
            raise TestKindError(f"{relative!r} is outside the manifest's folder {root}")
        return path


class TestKind(ABC):
    """One kind of test. Subclasses set `name` and implement `cases`."""

    __test__ = False
    name: ClassVar[str]

    def configured(self, spec: IntegrationTestsSpec) -> bool:
        """Whether the manifest has tests of this kind (its section is not empty)."""
        return bool(getattr(spec, self.name, None))

    def describe(self, spec: IntegrationTestsSpec) -> str:
        """One line for `shipway plan`."""
        return f"{self.name} tests"

    @abstractmethod
    def cases(self, spec: IntegrationTestsSpec, target: TestTarget) -> AsyncIterator[CaseResult]:
        """Run the kind's tests, yielding each case when it finishes."""
