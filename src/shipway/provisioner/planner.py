"""Building a plan: read every resource's real state (in parallel), compare it with the
manifest, and decide create / update / replace / delete / no-op for each.

Values that come from resources not applied yet are `UNKNOWN` ("known after apply"). A
resource that exists in the world but has no record (created by an apply that was
interrupted before it could record it, or made by hand under the same id) is `import`:
the apply records it without touching it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from shipway.manifest.references import resource_references
from shipway.provisioner.diagnostics import error_at
from shipway.provisioner.errors import ProvisionError
from shipway.provisioner.graph import contains_unknown, dependencies_of, order, resolve
from shipway.provisioner.plan import Action, Before, Change, Plan
from shipway.provisioner.providers.interface import (
    UNKNOWN,
    Observed,
    Provider,
    ProviderError,
    ProviderSettings,
)
from shipway.provisioner.session import Session
from shipway.store.resources import ResourceRecord

PENDING: frozenset[str] = frozenset({"create", "replace"})


class _Without(Mapping[str, Any]):
    """`outputs` as if the resources in `hidden` had none yet (they are being created or
    replaced), without copying it for every resource of a large plan."""

    def __init__(self, outputs: Mapping[str, Any], hidden: set[str]) -> None:
        self._outputs = outputs
        self._hidden = hidden

    def __getitem__(self, key: str) -> Any:
        if key in self._hidden:
            raise KeyError(key)
        return self._outputs[key]

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._outputs if k not in self._hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class _Target:
    """One resource being planned."""

    name: str
    type: str
    provider: Provider
    record: ResourceRecord | None
    written: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    prevent_destroy: bool = False
    in_manifest: bool = True
    #: Settings the world is read with, and the id read.
    read_as: ProviderSettings | None = None
    resource_id: str | None = None
    observed: Observed | None = None
    #: The attributes resolved from recorded outputs, and their settings (phase one).
    resolved: dict[str, Any] | None = None
    settings: ProviderSettings | None = None


def build_plan(session: Session, *, destroy: bool = False) -> Plan:
    """The plan that makes the world match the manifest (or, with `destroy`, removes
    every recorded resource)."""
    records = {r.name: r for r in session.store.resources.list(session.project, session.name)}
    specs = {} if destroy else dict(session.environment.resources)
    deps = {name: dependencies_of(spec) for name, spec in specs.items()}
    names = order(deps)
    recorded = {name: record.outputs for name, record in records.items()}
    targets = [_manifest_target(session, name, deps[name], records, recorded) for name in names]
    gone = [_recorded_target(session, r) for n, r in sorted(records.items()) if n not in specs]
    _read_all(session, [*targets, *gone])
    _check_prevent_destroy(session, gone, destroy)
    changes: dict[str, Change] = {}
    for target in targets:
        changes[target.name] = _decide(session, target, changes, recorded)
    deletes = [_delete(target) for target in _reverse(gone)]
    return Plan(
        project=session.project,
        environment=session.name,
        changes=[*deletes, *changes.values()],
        state={name: record.serial for name, record in records.items()},
        manifest_digest=session.loaded.digest,
        destroy=destroy,
    )


def _manifest_target(
    session: Session,
    name: str,
    dependencies: list[str],
    records: dict[str, ResourceRecord],
    recorded: dict[str, dict[str, Any]],
) -> _Target:
    spec = session.environment.resources[name]
    provider = session.provider(spec.type, name)
    record = records.get(name)
    target = _Target(
        name, spec.type, provider, record, spec.attributes, dependencies, spec.prevent_destroy
    )
    if record is not None and record.type != spec.type:
        # The type changed: the old resource is read (and later removed) by its own provider.
        old = session.provider(record.type)
        target.read_as = session.settings(old, name, record.attributes, manifest=False)
        target.resource_id = record.resource_id
        return target
    target.resolved = resolve(spec.attributes, recorded, strict=False)
    settings = _settings(session, provider, name, target.resolved)
    target.settings = settings
    if settings is None and record is not None:
        settings = session.settings(provider, name, record.attributes, manifest=False)
    target.read_as = settings
    if record is not None:
        target.resource_id = record.resource_id
    elif settings is not None:
        target.resource_id = provider.resource_id(name, settings)
    return target


def _recorded_target(session: Session, record: ResourceRecord) -> _Target:
    provider = session.provider(record.type)
    spec = session.environment.resources.get(record.name)
    target = _Target(
        record.name,
        record.type,
        provider,
        record,
        dict(record.attributes),
        list(record.dependencies),
        record.prevent_destroy or (spec is not None and spec.prevent_destroy),
        in_manifest=False,
    )
    target.read_as = session.settings(provider, record.name, record.attributes, manifest=False)
    target.resource_id = record.resource_id
    return target


def _settings(
    session: Session, provider: Provider, name: str, attributes: dict[str, Any]
) -> ProviderSettings | None:
    """Validated settings; None when only values known after apply keep them from
    validating (a port that is UNKNOWN is not yet a number)."""
    if contains_unknown(attributes):
        try:
            return provider.settings(attributes)
        except ValueError:
            return None
    return session.settings(provider, name, attributes, manifest=True)


def _read_all(session: Session, targets: list[_Target]) -> None:
    readable = [t for t in targets if t.read_as is not None and t.resource_id is not None]
    if not readable:
        return
    workers = max(1, min(session.parallelism, len(readable)))
    # NOTE: chunks, not one future per resource: submitting 10,000 futures cost more than
    # the reads themselves in benchmarks/plan_large.py.
    size = max(1, len(readable) // (workers * 4))
    chunks = [readable[i : i + size] for i in range(0, len(readable), size)]

    def read_chunk(chunk: list[_Target]) -> None:
        for target in chunk:
            target.observed = _read(session, target)

    with ThreadPoolExecutor(workers, thread_name_prefix="shipway-read") as pool:
        list(pool.map(read_chunk, chunks))


def _read(session: Session, target: _Target) -> Observed | None:
    provider = target.provider
    if target.record is not None and target.record.type != target.type:
        provider = session.provider(target.record.type)
    assert target.read_as is not None and target.resource_id is not None
    try:
        return provider.read(session.context(target.name), target.read_as, target.resource_id)
    except ProviderError as e:
        raise ProvisionError(f"reading {target.name} ({provider.type}): {e}") from e


def _check_prevent_destroy(session: Session, gone: list[_Target], destroy: bool) -> None:
    kept = [t.name for t in gone if t.prevent_destroy]
    if kept:
        why = "destroy" if destroy else "remove (they are no longer in the manifest)"
        raise ProvisionError(
            f"refusing to {why} {', '.join(kept)}: prevent_destroy is set; nothing was changed"
        )


def _decide(
    session: Session, target: _Target, changes: dict[str, Change], recorded: Mapping[str, Any]
) -> Change:
    pending = {d for d in target.dependencies if d in changes and changes[d].action in PENDING}
    _check_outputs(session, target, pending, recorded)
    outputs = _Without(recorded, pending) if pending else recorded
    provider = target.provider
    if pending or target.resolved is None:
        attributes = resolve(target.written, outputs, strict=False)
        settings = _settings(session, provider, target.name, attributes)
    else:
        attributes, settings = target.resolved, target.settings
    record, observed = target.record, target.observed
    base: dict[str, Any] = {
        "name": target.name,
        "type": target.type,
        "written": dict(target.written),
        "dependencies": list(target.dependencies),
        "prevent_destroy": target.prevent_destroy,
        "serial": record.serial if record is not None else None,
    }
    if observed is None:
        diff: dict[str, tuple[Any, Any]] = {k: (None, v) for k, v in attributes.items()}
        return Change(action="create", diff=diff, **base)
    before = Before(observed.resource_id, dict(observed.attributes), dict(observed.outputs))
    if record is not None and record.type != target.type:
        _refuse_replace(target)
        diff = {"type": (record.type, target.type)}
        return Change(
            action="replace",
            diff=diff,
            replace_keys=["type"],
            before=before,
            old_type=record.type,
            **base,
        )
    if settings is None:
        unknown = [k for k, v in attributes.items() if contains_unknown(v)]
        diff = {k: (observed.attributes.get(k), UNKNOWN) for k in unknown}
    else:
        wanted = provider.desired(settings)
        diff = {
            k: (observed.attributes.get(k), v)
            for k, v in wanted.items()
            if observed.attributes.get(k) != v
        }
    replace_keys = sorted(k for k in diff if k in provider.replace_on)
    action: Action = "replace" if replace_keys else "update" if diff else "no-op"
    if action == "no-op" and record is None:
        action = "import"
    if action == "replace":
        _refuse_replace(target)
    refresh = (
        action == "no-op"
        and record is not None
        and (
            record.outputs != observed.outputs
            or record.attributes != attributes
            or record.resource_id != observed.resource_id
            or record.prevent_destroy != target.prevent_destroy
            or list(record.dependencies) != target.dependencies
        )
    )
    return Change(
        action=action,
        diff=diff,
        replace_keys=replace_keys,
        before=before,
        refresh=refresh,
        **base,
    )


def _check_outputs(
    session: Session, target: _Target, pending: set[str], recorded: Mapping[str, Any]
) -> None:
    """A reference to an output that an applied (and unchanged) resource does not have is
    a manifest error at the reference, not a surprise halfway through an apply."""
    for where, reference in resource_references(target.written):
        name, _, attribute = reference.partition(".")
        outputs = recorded.get(name)
        if name in pending or outputs is None or attribute in outputs:
            continue
        has = ", ".join(sorted(outputs)) or "none"
        raise error_at(
            session.loaded,
            session.name,
            ("resources", target.name, *where),
            f"${{resources.{reference}}}: resource {name!r} has no output {attribute!r} "
            f"(it has: {has})",
        )


def _refuse_replace(target: _Target) -> None:
    protected = target.prevent_destroy or (
        target.record is not None and target.record.prevent_destroy
    )
    if protected:
        raise ProvisionError(
            f"refusing to replace {target.name}: prevent_destroy is set and the change "
            "cannot be made in place; nothing was changed"
        )


def _delete(target: _Target) -> Change:
    observed = target.observed
    before = None
    if observed is not None:
        before = Before(observed.resource_id, dict(observed.attributes), dict(observed.outputs))
    return Change(
        name=target.name,
        type=target.type,
        action="delete",
        written=dict(target.written),
        diff={k: (v, None) for k, v in target.written.items()},
        dependencies=list(target.dependencies),
        prevent_destroy=target.prevent_destroy,
        before=before,
        serial=target.record.serial if target.record is not None else None,
    )


def _reverse(targets: list[_Target]) -> list[_Target]:
    """Dependents before what they depend on."""
    by_name = {t.name: t for t in targets}
    forward = order({t.name: [d for d in t.dependencies if d in by_name] for t in targets})
    return [by_name[name] for name in reversed(forward)]


def build_delete_plan(session: Session, names: list[str], unrecorded: list[str]) -> Plan:
    """A plan deleting the recorded resources `names`, and the manifest resources
    `unrecorded` that exist without a record (created by an apply that died before it
    could record them), dependents first; those with `prevent_destroy` are left out."""
    records = {r.name: r for r in session.store.resources.list(session.project, session.name)}
    targets = [_recorded_target(session, records[n]) for n in names if n in records]
    recorded = {name: record.outputs for name, record in records.items()}
    for name in unrecorded:
        if name in records or name not in session.environment.resources:
            continue
        spec = session.environment.resources[name]
        target = _manifest_target(session, name, dependencies_of(spec), records, recorded)
        if target.resolved is not None and not contains_unknown(target.resolved):
            target.written = dict(target.resolved)
            targets.append(target)
    targets = [t for t in targets if not t.prevent_destroy]
    _read_all(session, targets)
    targets = [t for t in targets if t.record is not None or t.observed is not None]
    return Plan(
        project=session.project,
        environment=session.name,
        changes=[_delete(target) for target in _reverse(targets)],
        state={name: record.serial for name, record in records.items()},
        destroy=True,
    )
