"""Applying a plan: each change is one provider call (two for a replace), made once the
changes it waits for are done, with `${resources.X.Y}` filled in from their fresh outputs,
and recorded in the store the moment it completes, in its own transaction.

So an apply that fails or is interrupted leaves a record of exactly what was done
(terraform#20718), and the next plan (or a resumed deployment) starts from there.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from shipway.errors import ShipwayError
from shipway.provisioner.executor import walk
from shipway.provisioner.graph import resolve
from shipway.provisioner.plan import Change, Plan
from shipway.provisioner.providers.interface import Observed, Provider, ProviderSettings
from shipway.provisioner.session import Session


@dataclass(frozen=True)
class Progress:
    """One step of an apply, for whoever shows it (the CLI, the stage's events)."""

    name: str
    action: str
    status: Literal["started", "done", "failed"]
    seconds: float = 0.0
    error: str | None = None


Observer = Callable[[Progress], None]


@dataclass
class ApplyResult:
    """What an apply did: changes done, the failures with the provider's message, and
    changes that never started."""

    plan: Plan
    done: list[Change] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def names(self, action: str) -> list[str]:
        return [c.name for c in self.done if c.action == action]

    def error_message(self) -> str:
        """One line: what failed (with the provider's own error) and what was left."""
        parts = [f"{name}: {error}" for name, error in self.failed.items()]
        if self.skipped:
            parts.append(f"not started: {', '.join(self.skipped)}")
        what = "interrupted" if self.cancelled and not self.failed else "failed"
        done = len([c for c in self.done if c.has_work])
        return (
            f"apply {what} ({done} done and recorded); "
            + "; ".join(parts)
            + " (run apply again to finish)"
        )


def waits_of(plan: Plan) -> dict[str, set[str]]:
    """Which changes each change waits for: forward changes wait for the forward changes
    they depend on; a delete waits for the deletes of the resources that depend on it."""
    work = {c.name: c for c in plan.changes if c.has_work}
    waits: dict[str, set[str]] = {}
    for change in work.values():
        if change.action == "delete":
            waits[change.name] = {
                other.name
                for other in work.values()
                if other.action == "delete" and change.name in other.dependencies
            }
        else:
            waits[change.name] = {
                d for d in change.dependencies if d in work and work[d].action != "delete"
            }
    return waits


class Applier:
    """Carries out one plan in one session."""

    def __init__(self, session: Session, plan: Plan, observer: Observer | None = None) -> None:
        self.session = session
        self.plan = plan
        self.observer = observer or (lambda progress: None)
        self._changes = {c.name: c for c in plan.changes}
        self._lock = threading.Lock()
        self._outputs: dict[str, dict[str, Any]] = session.store.resources.outputs(
            session.project, session.name
        )
        self._done: list[Change] = []

    def run(self) -> ApplyResult:
        walked = walk(
            waits_of(self.plan),
            self._apply_one,
            parallelism=self.session.parallelism,
            cancel=self.session.cancel,
        )
        failed = {name: _message(error) for name, error in walked.failed.items()}
        done = [self._changes[n] for n in walked.done]
        return ApplyResult(
            self.plan, done, failed, walked.skipped, cancelled=self.session.cancel.is_set()
        )

    # --- one change ------------------------------------------------------------------

    def _apply_one(self, name: str) -> None:
        change = self._changes[name]
        self.observer(Progress(name, change.action, "started"))
        started = time.monotonic()
        try:
            if self.session.cancel.is_set():
                self.session.context(name).check_cancelled()
            getattr(self, "_" + change.action.replace("-", "_"))(change)
        except BaseException as error:
            self.observer(
                Progress(name, change.action, "failed", time.monotonic() - started, _message(error))
            )
            raise
        self.observer(Progress(name, change.action, "done", time.monotonic() - started))

    def _resolved(self, change: Change) -> dict[str, Any]:
        with self._lock:
            outputs = dict(self._outputs)
        return dict(resolve(change.written, outputs, strict=True))

    def _settings(
        self, provider: Provider, name: str, attributes: dict[str, Any]
    ) -> ProviderSettings:
        return self.session.settings(provider, name, attributes, manifest=False)

    def _create(self, change: Change) -> None:
        provider = self.session.provider(change.type)
        attributes = self._resolved(change)
        settings = self._settings(provider, change.name, attributes)
        observed = provider.create(self.session.context(change.name), settings)
        self._record(change, attributes, observed)

    def _update(self, change: Change) -> None:
        provider = self.session.provider(change.type)
        attributes = self._resolved(change)
        settings = self._settings(provider, change.name, attributes)
        assert change.before is not None
        current = Observed(
            change.before.resource_id, dict(change.before.attributes), dict(change.before.outputs)
        )
        wanted = provider.desired(settings)
        changes = {
            k: (current.attributes.get(k), v)
            for k, v in wanted.items()
            if current.attributes.get(k) != v
        }
        if any(key in provider.replace_on for key in changes):
            self._replace(change)
            return
        ctx = self.session.context(change.name)
        observed = provider.update(ctx, settings, current, changes) if changes else current
        self._record(change, attributes, observed)

    def _replace(self, change: Change) -> None:
        self._remove(change, change.old_type or change.type)
        self._create(change)

    def _delete(self, change: Change) -> None:
        self._remove(change, change.type)

    def _remove(self, change: Change, resource_type: str) -> None:
        """Delete the resource as recorded, then forget the record and its secrets."""
        session = self.session
        provider = session.provider(resource_type)
        record = session.store.resources.find(session.project, session.name, change.name)
        attributes = record.attributes if record is not None else self._resolved(change)
        ctx = session.context(change.name)
        if change.before is not None:
            settings = self._settings(provider, change.name, attributes)
            current = Observed(
                change.before.resource_id,
                dict(change.before.attributes),
                dict(change.before.outputs),
            )
            provider.delete(ctx, settings, current)
        if _has_secrets(change):
            ctx.delete_secrets()
        session.store.resources.remove(session.project, session.name, change.name)
        with self._lock:
            self._outputs.pop(change.name, None)

    def _import(self, change: Change) -> None:
        assert change.before is not None
        before = change.before
        observed = Observed(before.resource_id, dict(before.attributes), dict(before.outputs))
        self._record(change, self._resolved(change), observed)

    def _no_op(self, change: Change) -> None:
        self._import(change)

    def _record(self, change: Change, attributes: dict[str, Any], observed: Observed) -> None:
        session = self.session
        session.store.resources.put(
            project=session.project,
            environment=session.name,
            name=change.name,
            type=change.type,
            resource_id=observed.resource_id,
            attributes=attributes,
            outputs=dict(observed.outputs),
            dependencies=list(change.dependencies),
            prevent_destroy=change.prevent_destroy,
            by=session.by,
        )
        with self._lock:
            self._outputs[change.name] = dict(observed.outputs)


def _has_secrets(change: Change) -> bool:
    """Only resources whose outputs carried generated credentials have any to remove
    (listing a vault's names would need its master key for nothing)."""
    outputs = change.before.outputs if change.before is not None else {}
    return any(isinstance(v, str) and "${secret:resources/" in v for v in outputs.values())


def _message(error: BaseException) -> str:
    if isinstance(error, ShipwayError):
        return " ".join(str(error).split())
    return f"{type(error).__name__}: {' '.join(str(error).split())}"
