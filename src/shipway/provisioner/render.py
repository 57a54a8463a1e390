"""Plans, applies and drift as text, the way an IaC user expects to read them.

    + create   uploads (local.directory)
    ~ update   cache (local.directory)
        mode: "0755" -> "0750"
    -/+ replace  db (local.sqlite)
        path: "a.db" -> "b.db"   # forces replacement
    - destroy  old (local.directory)

Secret values never reach this module: attributes and outputs carry `${secret:...}`
references, and a value under a credential-like key that is not a reference is masked.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shipway.provisioner.apply import ApplyResult
from shipway.provisioner.engine import Drift
from shipway.provisioner.plan import Change, Plan
from shipway.provisioner.providers.interface import UNKNOWN

SYMBOLS = {
    "create": "+ create",
    "update": "~ update",
    "replace": "-/+ replace",
    "delete": "- destroy",
    "import": "<= record",
}
_SENSITIVE = re.compile(r"pass(word)?|secret|token|private_key|credential", re.IGNORECASE)
MASK = "(sensitive)"


def shown(key: str, value: Any) -> str:
    """One attribute value for people: JSON, secrets masked, unknowns spelled out."""
    if value == UNKNOWN:
        return UNKNOWN
    if value is None:
        return "null"
    if _SENSITIVE.search(key) and not (isinstance(value, str) and value.startswith("${secret:")):
        return MASK
    return json.dumps(value, ensure_ascii=False)


def plan_lines(plan: Plan) -> list[str]:
    where = f"{plan.project}/{plan.environment}"
    changes = [c for c in plan.changes if c.action != "no-op"]
    if not changes:
        return [f"No changes. The resources of {where} match the manifest.", "", plan.summary()]
    lines = [f"shipway will perform these actions on {where}:", ""]
    for change in changes:
        lines += change_lines(change)
    return [*lines, "", plan.summary()]


def change_lines(change: Change) -> list[str]:
    note = "  (exists, not yet recorded)" if change.action == "import" else ""
    lines = [f"  {SYMBOLS[change.action]}  {change.name} ({change.type}){note}"]
    if change.action == "create":
        lines += [f"      {k}: {shown(k, new)}" for k, (_, new) in change.diff.items()]
    elif change.action in ("update", "replace"):
        for key, (old, new) in change.diff.items():
            forces = "   # forces replacement" if key in change.replace_keys else ""
            lines.append(f"      {key}: {shown(key, old)} -> {shown(key, new)}{forces}")
    elif change.action == "delete" and change.before is None:
        lines.append("      (already gone; the record is dropped)")
    return lines


def outputs_lines(outputs: dict[str, dict[str, Any]]) -> list[str]:
    """Outputs of each resource; credentials appear as their `${secret:...}` reference."""
    lines = []
    for name, values in sorted(outputs.items()):
        lines.append(f"  {name}:")
        lines += [f"      {k}: {shown(k, v)}" for k, v in values.items()]
    return lines


def apply_summary(result: ApplyResult) -> str:
    counts = {
        "created": len(result.names("create")),
        "updated": len(result.names("update")),
        "replaced": len(result.names("replace")),
        "destroyed": len(result.names("delete")),
    }
    text = "Apply complete! " if result.ok else "Apply stopped. "
    return text + ", ".join(f"{n} {what}" for what, n in counts.items()) + "."


def drift_lines(drifts: list[Drift]) -> list[str]:
    lines = []
    for drift in drifts:
        if drift.status == "deleted":
            lines.append(f"  ! {drift.name} ({drift.type}): deleted outside shipway")
        elif drift.status == "changed":
            lines.append(f"  ~ {drift.name} ({drift.type}): changed outside shipway")
            lines += [
                f"      {k}: {shown(k, old)} (recorded) -> {shown(k, new)} (now)"
                for k, (old, new) in drift.changes.items()
            ]
    changed = sum(1 for d in drifts if d.status != "in-sync")
    if not changed:
        return [f"No drift: {len(drifts)} resources match their recorded state."]
    return [*lines, "", f"Drift: {changed} of {len(drifts)} resources changed outside shipway."]
