"""Which `Check`s a `requirements:` section asks for.

Each check module registers a builder for the manifest model it understands (one line per
model); `build` walks the section and asks each entry's builder for its checks. Capacity is
built from the whole section, since it reads the services rather than one entry.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from shipway.manifest.references import has_reference
from shipway.manifest.requirements import RequirementsSpec
from shipway.manifest.services import ServiceSpec
from shipway.validator.hosts import Host
from shipway.validator.interface import Check, Observation

#: The check families, one module each; imported the first time checks are built.
CHECK_MODULES: tuple[str, ...] = (
    "shipway.validator.checks.hardware",
    "shipway.validator.checks.software",
    "shipway.validator.checks.network",
    "shipway.validator.checks.security",
    "shipway.validator.checks.capacity",
)

S = TypeVar("S", bound=BaseModel)
Builder = Callable[[S, "CheckScope"], list[Check]]


@dataclass(frozen=True)
class CheckScope:
    """What builders may need besides their entry."""

    #: The manifest's folder: relative paths start here on this machine.
    base_dir: Path
    #: The project's `.shipway/` folder (it may not exist yet).
    home: Path
    services: Mapping[str, ServiceSpec] = field(default_factory=dict)
    #: Processes of this shipway (the agent): a port they hold is held for the project.
    own_pids: frozenset[int] = frozenset()


class DeferredCheck(Check):
    """A check whose target holds a `${...}` reference, resolved only after validation."""

    def __init__(self, check: Check) -> None:
        super().__init__(check.name, check.expected, required=check.required)
        self.family = check.family

    async def observe(self, host: Host) -> Observation:
        return Observation(
            "not checked: it uses a ${...} reference that is resolved after validation",
            "warn",
            "write the value literally to have it checked before the deployment",
        )


class CheckRegistry:
    """Builders by manifest model type."""

    def __init__(self) -> None:
        self._builders: dict[type[BaseModel], Builder[Any]] = {}
        self._lock = threading.RLock()
        self._loaded = False

    def register(self, spec_type: type[S]) -> Callable[[Builder[S]], Builder[S]]:
        """Decorator: `builder(entry, scope)` makes the checks for entries of `spec_type`."""

        def add(builder: Builder[S]) -> Builder[S]:
            with self._lock:
                self._builders[spec_type] = builder
            return builder

        return add

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            for module in CHECK_MODULES:
                importlib.import_module(module)

    def build(self, requirements: RequirementsSpec, scope: CheckScope) -> list[Check]:
        """Every check `requirements` asks for, in the order it names them."""
        self._load()
        entries: list[BaseModel] = [
            requirements.hardware,
            *requirements.software,
            *requirements.network,
            *requirements.security,
            requirements,
        ]
        checks: list[Check] = []
        for entry in entries:
            builder = self._builders.get(type(entry))
            if builder is None:
                continue
            built = builder(entry, scope)
            if entry is not requirements and _has_reference(entry):
                built = [DeferredCheck(check) for check in built]
            checks.extend(built)
        return checks


def _has_reference(entry: BaseModel) -> bool:
    return any(
        isinstance(value, str) and has_reference(value) for value in entry.model_dump().values()
    )


registry = CheckRegistry()
