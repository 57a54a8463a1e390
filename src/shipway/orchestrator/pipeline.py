"""Which stages a deployment runs, in which order, with which policy.

The default order is DESIGN.md section 1; a manifest may give its own `pipeline.order`
with plugin stages. The plan is fixed when the deployment is queued and stored with it,
so a resumed deployment runs exactly the pipeline it started with.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from shipway.errors import InputError
from shipway.manifest import LoadedManifest, PipelineSpec, ResolvedEnvironment
from shipway.manifest.pipeline import DEFAULT_ORDER
from shipway.orchestrator.stages.registry import registry

BUILTIN_STAGES = frozenset(name for group in DEFAULT_ORDER for name in group)
DEFAULT_TIMEOUT = 1800.0


@dataclass(frozen=True)
class StagePolicy:
    timeout: float
    retries: int
    backoff: float

    def to_dict(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "retries": self.retries, "backoff": self.backoff}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StagePolicy:
        return cls(float(data["timeout"]), int(data["retries"]), float(data["backoff"]))


@dataclass(frozen=True)
class Pipeline:
    groups: tuple[tuple[str, ...], ...]
    policies: dict[str, StagePolicy]
    #: Index of the group that waits for `shipway approve`, or None.
    approval_group: int | None

    def stages(self) -> list[str]:
        return [name for group in self.groups for name in group]

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [list(group) for group in self.groups],
            "policies": {name: policy.to_dict() for name, policy in self.policies.items()},
            "approval_group": self.approval_group,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pipeline:
        return cls(
            groups=tuple(tuple(group) for group in data["groups"]),
            policies={k: StagePolicy.from_dict(v) for k, v in data["policies"].items()},
            approval_group=data["approval_group"],
        )


def load_stage_plugins(loaded: LoadedManifest) -> None:
    """Import the manifest's stage plugins so their stages are registered."""
    spec = loaded.manifest.pipeline
    if spec is not None and spec.plugins:
        registry.load_plugins(list(spec.plugins), loaded.path.parent)


def build_pipeline(loaded: LoadedManifest, environment: ResolvedEnvironment) -> Pipeline:
    """The pipeline a deployment of `environment` runs. Raises InputError on unknown stages."""
    load_stage_plugins(loaded)
    spec = loaded.manifest.pipeline or PipelineSpec()
    groups = spec.groups
    known = BUILTIN_STAGES | set(registry.plugin_names())
    for name in (name for group in groups for name in group):
        if name not in known:
            hint = difflib.get_close_matches(name, sorted(known), n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise InputError(f"pipeline stage {name!r} is not a known stage{suggestion}")
    policies = {}
    for name in (name for group in groups for name in group):
        given = spec.policy(name)
        policies[name] = StagePolicy(
            timeout=float(given.timeout) if given.timeout else DEFAULT_TIMEOUT,
            retries=given.retries,
            backoff=float(given.backoff),
        )
    return Pipeline(groups, policies, _approval_group(groups, environment))


def _approval_group(groups: tuple[tuple[str, ...], ...], env: ResolvedEnvironment) -> int | None:
    """Approval gates the release; a pipeline without one waits before its first group."""
    if env.spec.approval != "required":
        return None
    for index, group in enumerate(groups):
        if "release" in group:
            return index
    return 0
