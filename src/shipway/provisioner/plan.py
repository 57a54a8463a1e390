"""A plan: what an apply will do to each resource, and what the plan was made from.

A plan is data (JSON for `provision plan --out FILE`). It keeps, per resource, the
attributes as written (references to other resources unresolved: they are filled in from
fresh outputs just before the provider is called), the state serial and the world it saw,
so `apply --plan-file` can refuse a plan that no longer fits.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from shipway.errors import InputError

Action = Literal["create", "update", "replace", "delete", "import", "no-op"]
#: Actions that change the world, in the order the summary counts them.
CHANGING: tuple[Action, ...] = ("create", "update", "replace", "delete")
FORMAT = "shipway-plan/1"


@dataclass(frozen=True)
class Before:
    """A resource as the plan saw it in the world."""

    resource_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """What happens to one resource."""

    name: str
    type: str
    action: Action
    #: Attributes as written in the manifest (`${resources...}` unresolved); for a delete,
    #: the recorded attributes.
    written: dict[str, Any] = field(default_factory=dict)
    #: Attribute -> (now, wanted); wanted may be UNKNOWN ("known after apply").
    diff: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: The changed attributes that force a replacement.
    replace_keys: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    prevent_destroy: bool = False
    #: The world before the change (None: does not exist).
    before: Before | None = None
    #: The record's serial when planned (None: no record).
    serial: int | None = None
    #: The record is refreshed (outputs or bookkeeping changed) even with no action.
    refresh: bool = False
    #: A replaced resource's previous type, when the type itself changed.
    old_type: str | None = None

    @property
    def changes_world(self) -> bool:
        return self.action in CHANGING

    @property
    def has_work(self) -> bool:
        return self.action != "no-op" or self.refresh

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["diff"] = {k: list(v) for k, v in self.diff.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        before = data.get("before")
        return cls(
            name=str(data["name"]),
            type=str(data["type"]),
            action=data["action"],
            written=dict(data.get("written") or {}),
            diff={k: (v[0], v[1]) for k, v in (data.get("diff") or {}).items()},
            replace_keys=list(data.get("replace_keys") or []),
            dependencies=list(data.get("dependencies") or []),
            prevent_destroy=bool(data.get("prevent_destroy")),
            before=Before(**before) if before else None,
            serial=data.get("serial"),
            refresh=bool(data.get("refresh")),
            old_type=data.get("old_type"),
        )


@dataclass(frozen=True)
class Plan:
    """Every resource's change, dependencies first, and what the plan was made from."""

    project: str
    environment: str
    changes: list[Change]
    #: Serial of every record of the environment when the plan was made.
    state: dict[str, int] = field(default_factory=dict)
    manifest_digest: str = ""
    destroy: bool = False

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {action: 0 for action in (*CHANGING, "import", "no-op")}
        for change in self.changes:
            out[change.action] += 1
        return out

    @property
    def empty(self) -> bool:
        """True when applying changes nothing in the world."""
        return not any(c.changes_world or c.action == "import" for c in self.changes)

    def summary(self) -> str:
        n = self.counts()
        text = (
            f"Plan: {n['create']} to create, {n['update']} to update, {n['replace']} to "
            f"replace, {n['delete']} to destroy, {n['no-op']} unchanged"
        )
        return text + (f", {n['import']} to record." if n["import"] else ".")

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "project": self.project,
            "environment": self.environment,
            "manifest_digest": self.manifest_digest,
            "destroy": self.destroy,
            "state": dict(self.state),
            "changes": [change.to_dict() for change in self.changes],
            "summary": self.counts(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"not a shipway plan file (expected format {FORMAT!r})")
        return cls(
            project=str(data["project"]),
            environment=str(data["environment"]),
            changes=[Change.from_dict(c) for c in data["changes"]],
            state={str(k): int(v) for k, v in (data.get("state") or {}).items()},
            manifest_digest=str(data.get("manifest_digest") or ""),
            destroy=bool(data.get("destroy")),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Plan:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"cannot read plan file {path}: {e}") from e
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"plan file {path} is damaged: {e}") from e
