"""The `pipeline` section: stage plugins, stage order and per-stage retry policy.

Without it the pipeline is the one in DESIGN.md section 1. A nested list in `order` is a
group of stages that run in parallel.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, Discriminator, Field, Tag, WithJsonSchema, model_validator

from shipway.manifest.fields import Duration, ManifestModel, ModelProblem, did_you_mean
from shipway.manifest.references import has_reference

STAGE_PATTERN = r"^[a-z][a-z0-9_-]*$"
MODULE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
DEFAULT_ORDER: tuple[tuple[str, ...], ...] = (
    ("validate",),
    ("provision",),
    ("configure", "scan"),
    ("release",),
    ("test",),
    ("observe",),
)


def _check_stage(value: str) -> str:
    if not re.fullmatch(STAGE_PATTERN, value):
        raise ValueError(
            f"invalid stage name {value[:60]!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter"
        )
    return value


def _check_plugin(value: str) -> str:
    if has_reference(value):
        raise ValueError("plugin names cannot use references")
    if value.endswith(".py"):
        parts = re.split(r"[\\/]", value)
        if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value) or ".." in parts:
            raise ValueError(f"plugin file {value!r} must stay under the manifest's folder")
        return value
    if not re.fullmatch(MODULE_PATTERN, value):
        raise ValueError(
            f"invalid plugin {value[:60]!r}: a .py file under the manifest's folder, "
            "or a module name such as 'mypkg.stages'"
        )
    return value


StageName = Annotated[
    str, AfterValidator(_check_stage), WithJsonSchema({"type": "string", "pattern": STAGE_PATTERN})
]
PluginRef = Annotated[str, AfterValidator(_check_plugin), WithJsonSchema({"type": "string"})]


def _entry_kind(value: Any) -> str:
    return "group" if isinstance(value, list) else "stage"


# NOTE: told apart by type so that a bad name reports one error, not one per union member.
OrderEntry = Annotated[
    Annotated[StageName, Tag("stage")] | Annotated[list[StageName], Tag("group")],
    Discriminator(_entry_kind),
]


class StagePolicy(ManifestModel):
    """Time limit and retries of one stage."""

    timeout: Duration | None = Field(None, description="Time after which the stage fails.")
    retries: int = Field(0, ge=0, le=100, description="Extra attempts after a failure.")
    backoff: Duration = Field(
        "1s", validate_default=True, description="Wait before the first retry; doubles after."
    )


class PipelineSpec(ManifestModel):
    """Custom stages and their order."""

    plugins: list[PluginRef] = Field(
        default_factory=list,
        description="Python files (`.py`, relative to the manifest and under its folder) or "
        "module names that register stage plugins.",
    )
    order: list[OrderEntry] | None = Field(
        None,
        min_length=1,
        description="Stage names in order; a nested list is a group run in parallel. "
        "Default: validate, provision, [configure, scan], release, test, observe.",
    )
    stages: dict[StageName, StagePolicy] = Field(
        default_factory=dict, description="Policy per stage name."
    )

    @property
    def groups(self) -> tuple[tuple[str, ...], ...]:
        """The effective order as groups of stages that run in parallel."""
        if self.order is None:
            return DEFAULT_ORDER
        return tuple((entry,) if isinstance(entry, str) else tuple(entry) for entry in self.order)

    def policy(self, stage: str) -> StagePolicy:
        """The policy of `stage`, or the default policy when none is written."""
        return self.stages.get(stage) or StagePolicy()

    @model_validator(mode="after")
    def _check_stage_names(self) -> PipelineSpec:
        seen: set[str] = set()
        for index, entry in enumerate(self.order or ()):
            group = [entry] if isinstance(entry, str) else entry
            if not group:
                raise ModelProblem("an empty parallel group", ("order", index))
            for position, stage in enumerate(group):
                if stage in seen:
                    where = (
                        ("order", index) if isinstance(entry, str) else ("order", index, position)
                    )
                    raise ModelProblem(f"stage {stage!r} appears more than once in order", where)
                seen.add(stage)
        known = [stage for group in self.groups for stage in group]
        for stage in self.stages:
            if stage not in known:
                raise ModelProblem(
                    f"stage {stage!r} is not in the pipeline order{did_you_mean(stage, known)}",
                    ("stages", stage),
                    at_key=True,
                )
        return self
