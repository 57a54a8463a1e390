"""The records the state store reads and writes: frozen dataclasses, one per table.

Timestamps are timezone-aware UTC `datetime`s; JSON columns come back as plain dicts and
lists. The status vocabularies live here too, so callers and repositories share one
spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

DeploymentKind = Literal["deploy", "rollback"]
DeploymentStatus = Literal[
    "queued",
    "running",
    "awaiting_approval",
    "succeeded",
    "failed",
    "rolled_back",
    "cancelled",
]
StageStatus = Literal[
    "pending",
    "running",
    "succeeded",
    "failed",
    "skipped",
    "cancelled",
    "compensated",
    "compensation_failed",
]
CompensationStatus = Literal["registered", "done", "failed"]
#: staged: being started; active: serving; standby: stopped, kept for rollback; failed:
#: never became healthy; rolled_back: replaced by a rollback; pruned: files deleted.
ReleaseStatus = Literal["staged", "active", "standby", "failed", "rolled_back", "pruned"]

DEPLOYMENT_KINDS: frozenset[str] = frozenset(get_args(DeploymentKind))
DEPLOYMENT_STATUSES: frozenset[str] = frozenset(get_args(DeploymentStatus))
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "rolled_back", "cancelled"})
STAGE_STATUSES: frozenset[str] = frozenset(get_args(StageStatus))
COMPENSATION_STATUSES: frozenset[str] = frozenset(get_args(CompensationStatus))
RELEASE_STATUSES: frozenset[str] = frozenset(get_args(ReleaseStatus))


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def check_choice(value: str, allowed: frozenset[str], what: str) -> None:
    """Raise ValueError when `value` is not one of `allowed` (a programming error)."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {sorted(allowed)}")


@dataclass(frozen=True)
class DeploymentRecord:
    """One deployment (or rollback) of one environment of one project."""

    id: str
    project: str
    environment: str
    kind: DeploymentKind = "deploy"
    status: DeploymentStatus = "queued"
    manifest_path: str = ""
    manifest_digest: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    # NOTE: JSON as the orchestrator resolved it: a list of groups of stage names, or a
    # richer dict that carries them (the orchestrator stores groups plus stage policies).
    pipeline: Any = field(default_factory=list)
    correlation_id: str = ""
    user: str = ""
    created_at: datetime = field(default_factory=utc_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    rollback_from: str | None = None
    force: bool = False
    wait_seconds: float | None = None
    cancel_requested: bool = False
    approved_by: str | None = None
    approved_at: datetime | None = None
    executor_id: str | None = None

    @property
    def terminal(self) -> bool:
        """True once the deployment can no longer change its outcome."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class NewEvent:
    """An event about to be appended (the log assigns `id` and `created_at`)."""

    deployment_id: str
    correlation_id: str
    type: str
    stage: str | None = None
    message: str = ""
    data: dict[str, Any] | None = None
    dedupe_key: str | None = None


@dataclass(frozen=True)
class EventRecord:
    """One row of the append-only event log; `id` is the global cursor."""

    id: int
    deployment_id: str
    correlation_id: str
    type: str
    stage: str | None
    message: str
    data: dict[str, Any]
    created_at: datetime
    dedupe_key: str | None = None


@dataclass(frozen=True)
class StageRunRecord:
    """The checkpointed state of one stage of one deployment."""

    deployment_id: str
    stage: str
    status: StageStatus
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    outputs: dict[str, Any]


@dataclass(frozen=True)
class CompensationRecord:
    """One registered undo step of the rollback saga."""

    id: int
    deployment_id: str
    stage: str
    data: dict[str, Any]
    status: CompensationStatus
    error: str | None
    registered_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class LeaseRecord:
    """Who holds an environment ("project/environment"), and until when."""

    key: str
    holder: str
    owner: str | None
    acquired_at: datetime
    expires_at: datetime

    def expires_in(self, now: datetime | None = None) -> float:
        """Seconds until the lease expires (negative once it has)."""
        return (self.expires_at - (now or utc_now())).total_seconds()


@dataclass(frozen=True)
class BlockRecord:
    """An environment blocked from redeploying a manifest digest that was rolled back."""

    key: str
    digest: str
    deployment_id: str | None
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class ExecutorRecord:
    """An agent or worker that runs deployments, and when it last said it was alive."""

    id: str
    kind: str
    host: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime


@dataclass(frozen=True)
class ReleaseRecord:
    """An immutable release of an environment's services: what runs, built from what.

    `services` maps each service name to what its process needs (the manifest's service
    spec as written, references unresolved, plus the artifact folder and private port)."""

    id: str
    project: str
    environment: str
    number: int
    deployment_id: str
    manifest_digest: str
    artifact_digest: str
    services: dict[str, Any]
    executor_id: str
    status: ReleaseStatus = "staged"
    config_version: str | None = None
    created_at: datetime = field(default_factory=utc_now)
    activated_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class ServiceProcessRecord:
    """The last known state of one service process, as its agent's supervisor sees it."""

    name: str
    project: str
    environment: str
    service: str
    release_id: str
    executor_id: str
    state: str
    pid: int | None
    restarts: int
    consecutive_crashes: int
    last_exit: str | None
    updated_at: datetime


#: deploy: applied by a deployment's configure stage; set: `shipway config set`;
#: rollback: an earlier version made current again; compensate: a failed deployment's
#: configuration undone; live: pushed to running services by `config apply --live`.
ConfigAction = Literal["deploy", "set", "rollback", "compensate", "live"]
CONFIG_ACTIONS: frozenset[str] = frozenset(get_args(ConfigAction))


@dataclass(frozen=True)
class ConfigVersionRecord:
    """One immutable configuration version; `id` is `sha256:` of its canonical content.
    The content holds secret references (`${secret:NAME}`), never secret values."""

    id: str
    content: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class ConfigHistoryRecord:
    """An environment's configuration became `version` (None: no configuration at all)."""

    id: int
    project: str
    environment: str
    version: str | None
    action: ConfigAction
    deployment_id: str | None
    #: The `shipway config set` overrides in force, by dotted key.
    overrides: dict[str, Any]
    user: str
    message: str
    created_at: datetime
