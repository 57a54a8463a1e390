"""`Provisioner`: the one facade the CLI and the pipeline stage use.

plan / apply (also of a saved plan, refused when the state or the world changed since) /
destroy / drift / import / rotate, for one environment of one project.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from shipway.errors import InputError
from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.provisioner.apply import Applier, ApplyResult, Observer
from shipway.provisioner.errors import ProvisionError, StalePlanError
from shipway.provisioner.graph import contains_unknown, dependencies_of, resolve
from shipway.provisioner.plan import Change, Plan
from shipway.provisioner.planner import build_plan
from shipway.provisioner.providers.interface import Observed, ProviderError
from shipway.provisioner.session import DEFAULT_PARALLELISM, Session
from shipway.store import Store
from shipway.store.resources import ResourceRecord


@dataclass(frozen=True)
class Drift:
    """A recorded resource compared with the world now."""

    name: str
    type: str
    status: Literal["in-sync", "changed", "deleted"]
    #: Attribute -> (recorded, now).
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "status": self.status,
            "changes": {k: {"recorded": a, "now": b} for k, (a, b) in self.changes.items()},
        }


class Provisioner:
    """Plan, apply and inspect one environment's resources."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def open(
        cls,
        loaded: LoadedManifest,
        environment: ResolvedEnvironment,
        store: Store,
        home: Path,
        *,
        by: str = "cli",
        parallelism: int = DEFAULT_PARALLELISM,
    ) -> Provisioner:
        if parallelism < 1:
            raise InputError(f"--parallelism must be at least 1, got {parallelism}")
        return cls(Session(loaded, environment, store, home, by=by, parallelism=parallelism))

    @property
    def store(self) -> Store:
        return self.session.store

    def plan(self, *, destroy: bool = False) -> Plan:
        return build_plan(self.session, destroy=destroy)

    def apply(self, plan: Plan, observer: Observer | None = None) -> ApplyResult:
        """Carry out `plan`; failures are in the result (the caller decides how to fail)."""
        return Applier(self.session, plan, observer).run()

    def records(self) -> list[ResourceRecord]:
        return self.store.resources.list(self.session.project, self.session.name)

    def outputs(self) -> dict[str, dict[str, Any]]:
        return self.store.resources.outputs(self.session.project, self.session.name)

    # --- saved plans -------------------------------------------------------------------

    def check(self, plan: Plan) -> None:
        """Refuse a saved plan made for another environment, or from a state or a world
        that changed since it was made."""
        session = self.session
        if (plan.project, plan.environment) != (session.project, session.name):
            raise InputError(
                f"the plan is for {plan.project}/{plan.environment}, not "
                f"{session.project}/{session.name}"
            )
        now = {r.name: r.serial for r in self.records()}
        if now != plan.state:
            changed = sorted(
                n for n in set(now) | set(plan.state) if now.get(n) != plan.state.get(n)
            )
            raise StalePlanError(
                "the recorded state changed since the plan was made (resources: "
                f"{', '.join(changed)}); make a new plan"
            )
        moved = [name for name in self._parallel(self._world_moved, plan.changes) if name]
        if moved:
            raise StalePlanError(
                f"the world changed since the plan was made ({', '.join(moved)}); make a new plan"
            )

    def _world_moved(self, change: Change) -> str | None:
        session = self.session
        if change.action == "create":
            attributes = resolve(change.written, self.outputs(), strict=False)
            if contains_unknown(attributes):
                return None
            provider = session.provider(change.type)
            settings = session.settings(provider, change.name, attributes, manifest=False)
            resource_id = provider.resource_id(change.name, settings)
            found = provider.read(session.context(change.name), settings, resource_id)
            return change.name if found is not None else None
        record = session.store.resources.find(session.project, session.name, change.name)
        if record is None:
            return change.name if change.serial is not None else None
        observed = self._read(record)
        before = change.before
        if before is None or observed is None:
            return change.name if (before is None) != (observed is None) else None
        return change.name if observed.attributes != before.attributes else None

    # --- inspection and single-resource commands --------------------------------------

    def drift(self) -> list[Drift]:
        """Each recorded resource compared with what its provider reads now."""
        return self._parallel(self._drift_of, self.records())

    def _drift_of(self, record: ResourceRecord) -> Drift:
        observed = self._read(record)
        if observed is None:
            return Drift(record.name, record.type, "deleted")
        provider = self.session.provider(record.type)
        settings = self.session.settings(provider, record.name, record.attributes, manifest=False)
        wanted = provider.desired(settings)
        changes = {
            k: (v, observed.attributes.get(k))
            for k, v in wanted.items()
            if observed.attributes.get(k) != v
        }
        return Drift(record.name, record.type, "changed" if changes else "in-sync", changes)

    def _read(self, record: ResourceRecord) -> Observed | None:
        provider = self.session.provider(record.type)
        settings = self.session.settings(provider, record.name, record.attributes, manifest=False)
        try:
            return provider.read(self.session.context(record.name), settings, record.resource_id)
        except ProviderError as e:
            raise ProvisionError(f"reading {record.name} ({record.type}): {e}") from e

    def import_resource(self, address: str, resource_id: str) -> ResourceRecord:
        """`import TYPE.NAME ID`: record an existing resource as manifest resource NAME."""
        session = self.session
        resource_type, _, name = address.rpartition(".")
        spec = session.environment.resources.get(name)
        if not resource_type or spec is None:
            known = ", ".join(f"{s.type}.{n}" for n, s in session.environment.resources.items())
            raise InputError(
                f"no resource {address!r} in the manifest for {session.name} "
                f"(write TYPE.NAME; resources: {known or 'none'})"
            )
        if spec.type != resource_type:
            raise InputError(f"resource {name!r} is a {spec.type}, not a {resource_type}")
        if session.store.resources.find(session.project, session.name, name) is not None:
            raise InputError(f"resource {name!r} is already managed by shipway")
        provider = session.provider(spec.type, name)
        attributes = dict(resolve(spec.attributes, self.outputs(), strict=True))
        settings = session.settings(provider, name, attributes, manifest=True)
        try:
            observed = provider.adopt(session.context(name), settings, resource_id)
        except ProviderError as e:
            raise ProvisionError(f"import {address}: {e}") from e
        return self._put(
            name, spec.type, attributes, observed, dependencies_of(spec), spec.prevent_destroy
        )

    def rotate(self, name: str) -> ResourceRecord:
        """New generated credentials for resource `name`, recorded at once."""
        session = self.session
        record = session.store.resources.get(session.project, session.name, name)
        provider = session.provider(record.type)
        if not provider.rotatable:
            raise InputError(f"resource {name!r} ({record.type}) has no credentials to rotate")
        settings = session.settings(provider, name, record.attributes, manifest=False)
        current = self._read(record)
        if current is None:
            raise ProvisionError(f"resource {name!r} no longer exists; run provision apply")
        try:
            observed = provider.rotate(session.context(name), settings, current)
        except ProviderError as e:
            raise ProvisionError(f"rotate {name}: {e}") from e
        return self._put(
            name,
            record.type,
            record.attributes,
            observed,
            list(record.dependencies),
            record.prevent_destroy,
        )

    def _put(
        self,
        name: str,
        resource_type: str,
        attributes: dict[str, Any],
        observed: Observed,
        dependencies: list[str],
        prevent_destroy: bool,
    ) -> ResourceRecord:
        session = self.session
        return session.store.resources.put(
            project=session.project,
            environment=session.name,
            name=name,
            type=resource_type,
            resource_id=observed.resource_id,
            attributes=attributes,
            outputs=dict(observed.outputs),
            dependencies=dependencies,
            prevent_destroy=prevent_destroy,
            by=session.by,
        )

    def _parallel(self, function: Any, items: list[Any]) -> list[Any]:
        if not items:
            return []
        workers = max(1, min(self.session.parallelism, len(items)))
        with ThreadPoolExecutor(workers, thread_name_prefix="shipway-read") as pool:
            return list(pool.map(function, items))
