"""The CLI's side of the orchestrator: queue deployments, follow their event log, cancel,
approve, resume and roll back. Nothing here executes a deployment: the agent does
(DESIGN.md section 4), so killing the caller changes nothing about the outcome."""

from __future__ import annotations

import contextlib
import getpass
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from shipway import __version__
from shipway.errors import AgentError, BlockedError, InputError, LeaseHeldError
from shipway.manifest import LoadedManifest, load_manifest_text, resolve_environment
from shipway.orchestrator import events as ev
from shipway.orchestrator.names import (
    CONTROL_TOPIC,
    QUEUE_NAME,
    ROLLBACK_RELEASE,
    WORKFLOW_NAME,
    lease_key,
)
from shipway.orchestrator.pipeline import build_pipeline
from shipway.runtime.agent import EXECUTOR_STALE_AFTER, ensure_agent, executor_alive
from shipway.store import Store
from shipway.store.records import DeploymentKind, DeploymentRecord, EventRecord, ReleaseRecord
from shipway.workspace import Workspace

#: A lease taken by the CLI must outlive the time the agent needs to pick the job up.
QUEUED_LEASE_TTL = 120.0
#: `--wait` with no number: wait as long as it takes.
WAIT_FOREVER = 10.0 * 365 * 24 * 3600
FINAL_EVENTS = frozenset(
    {ev.DEPLOYMENT_COMPLETED, ev.DEPLOYMENT_FAILED, ev.DEPLOYMENT_CANCELLED, ev.ROLLED_BACK}
)


def new_deployment_id(environment: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{environment}-{stamp}-{secrets.token_hex(3)}"


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class DeploymentClient:
    """Talks to the state store and, through a DBOS client, to the agent's queue."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.store = Store.open(ws.state_url)
        self._dbos: Any = None

    def close(self) -> None:
        if self._dbos is not None:
            self._dbos.destroy()
        self.store.close()

    def __enter__(self) -> DeploymentClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- queueing -----------------------------------------------------------------------

    def submit(
        self,
        loaded: LoadedManifest,
        environment: str,
        *,
        kind: DeploymentKind = "deploy",
        force: bool = False,
        wait: float | None = None,
        rollback_from: str | None = None,
        shared_metadata: dict[str, Any] | None = None,
    ) -> DeploymentRecord:
        """Queue a deployment. Raises LeaseHeldError / BlockedError (exit 3) when it may
        not run now and `wait` is None."""
        resolved = resolve_environment(loaded, environment)
        pipeline = build_pipeline(loaded, resolved)
        project = loaded.manifest.project
        key = lease_key(project, environment)
        forcing_past_block = kind == "deploy" and self._rolled_back_from(key, loaded.digest, force)
        dep_id = new_deployment_id(environment)
        if wait is None:
            self._take_lease(key, dep_id, project, environment)
        record = self.store.deployments.create(
            DeploymentRecord(
                id=dep_id,
                project=project,
                environment=environment,
                kind=kind,
                manifest_path=str(loaded.path.resolve()),
                manifest_digest=loaded.digest,
                manifest={"source": loaded.source_text, "path": str(loaded.path.resolve())},
                pipeline=pipeline.to_dict(),
                correlation_id=str(uuid.uuid4()),
                user=current_user(),
                rollback_from=rollback_from,
                force=force,
                wait_seconds=wait,
                context={"shared_metadata": dict(shared_metadata or {})},
            )
        )
        self.store.events.append(
            dep_id,
            record.correlation_id,
            ev.DEPLOYMENT_QUEUED,
            message=f"{kind} of {project}/{environment} ({loaded.digest[:19]}) by {record.user}",
            data={"kind": kind, "digest": loaded.digest},
            dedupe_key="queued",
        )
        try:
            self._enqueue(dep_id, key)
        except Exception as exc:
            self.store.deployments.set_status(dep_id, "failed", error=f"could not queue: {exc}")
            self.store.leases.release(key, dep_id)
            raise AgentError(f"could not queue deployment {dep_id}: {exc}") from exc
        if forcing_past_block:
            self.store.environments.clear(key)
        return record

    def _rolled_back_from(self, key: str, digest: str, force: bool) -> bool:
        """True when `digest` was rolled back from here and `force` lets it through;
        BlockedError when it was and nothing lets it through."""
        block = self.store.environments.blocked(key)
        if block is None or block.digest != digest:
            return False
        if force:
            return True
        raise BlockedError(
            f"this manifest ({digest[:19]}) was {block.reason}; deploy it again with --force"
        )

    def _take_lease(self, key: str, dep_id: str, project: str, environment: str) -> None:
        self.store.leases.acquire(key, dep_id, QUEUED_LEASE_TTL)
        active = [
            d
            for d in self.store.deployments.list(
                project=project, environment=environment, statuses=sorted(ev.ACTIVE_STATUSES)
            )
            if d.id != dep_id
        ]
        if active:
            self.store.leases.release(key, dep_id)
            raise LeaseHeldError(key, active[0].id, QUEUED_LEASE_TTL)

    def _client(self) -> Any:
        self._ensure_executor()
        if self._dbos is None:
            from dbos import DBOSClient

            self._dbos = DBOSClient(system_database_url=self.ws.system_database_url)
        return self._dbos

    def _ensure_executor(self) -> None:
        """Someone must run what we queue: with PostgreSQL state, live workers or agents
        elsewhere will (team mode); otherwise this machine's agent, started if needed."""
        if self.ws.is_postgres and any(
            executor_alive(e.host, e.pid) for e in self.store.executors.live(EXECUTOR_STALE_AFTER)
        ):
            return
        ensure_agent(self.ws)

    def _enqueue(self, dep_id: str, partition: str) -> None:
        self._client().enqueue(
            {
                "workflow_name": WORKFLOW_NAME,
                "queue_name": QUEUE_NAME,
                "workflow_id": dep_id,
                "app_version": __version__,
                "queue_partition_key": partition,
            },
            dep_id,
        )

    # --- following ----------------------------------------------------------------------

    def follow(
        self,
        dep_id: str,
        *,
        after: int = 0,
        poll: float = 0.1,
        stop_on_approval: bool = True,
        deadline: float | None = None,
    ) -> Iterator[EventRecord]:
        """Yield the deployment's events from `after` until it ends (or waits for an
        approval, or `deadline` passes on time.monotonic())."""
        cursor = after
        while True:
            batch = self.store.events.read(cursor, deployment_id=dep_id)
            for event in batch:
                cursor = event.id
                yield event
                if event.type in FINAL_EVENTS:
                    return
                if stop_on_approval and event.type == ev.APPROVAL_REQUIRED:
                    return
            if not batch:
                if deadline is not None and time.monotonic() > deadline:
                    return
                if self.store.deployments.get(
                    dep_id
                ).status in ev.TERMINAL_STATUSES and not self.store.events.read(
                    cursor, deployment_id=dep_id
                ):
                    return
                time.sleep(poll)

    # --- control ------------------------------------------------------------------------

    def cancel(self, dep_id: str) -> DeploymentRecord:
        record = self.store.deployments.get(dep_id)
        if record.status in ev.TERMINAL_STATUSES:
            raise InputError(f"deployment {record.id} already ended ({record.status})")
        self.store.deployments.request_cancel(record.id)
        self.store.events.append(
            record.id, record.correlation_id, ev.CANCEL_REQUESTED, message=f"by {current_user()}"
        )
        self._wake(record.id)
        return self.store.deployments.get(record.id)

    def withdraw_queued(self, dep_id: str, reason: str) -> bool:
        """Cancel a deployment that never started (gave up waiting). True if withdrawn."""
        self.store.deployments.request_cancel(dep_id)
        status = self._client().retrieve_workflow(dep_id).get_status()
        if status.status != "ENQUEUED":
            return False
        self._client().cancel_workflow(dep_id)
        record = self.store.deployments.get(dep_id)
        self.store.deployments.set_status(dep_id, "cancelled", error=reason)
        self.store.events.append(
            dep_id,
            record.correlation_id,
            ev.DEPLOYMENT_CANCELLED,
            message=reason,
            dedupe_key="finished",
        )
        return True

    def approve(self, dep_id: str) -> DeploymentRecord:
        record = self.store.deployments.get(dep_id)
        if record.status in ev.TERMINAL_STATUSES:
            raise InputError(f"deployment {record.id} already ended ({record.status})")
        if record.approved_by:
            raise InputError(f"deployment {record.id} was already approved by {record.approved_by}")
        user = current_user()
        self.store.deployments.approve(record.id, user)
        self.store.events.append(
            record.id,
            record.correlation_id,
            ev.APPROVED,
            message=f"by {user}",
            dedupe_key="approved",
        )
        self._wake(record.id)
        return self.store.deployments.get(record.id)

    def _wake(self, dep_id: str) -> None:
        """Wake a workflow waiting for an approval; it re-reads the store either way."""
        # The workflow polls the store on its own too: a lost wake-up only delays it.
        with contextlib.suppress(Exception):
            self._client().send(dep_id, "wake", CONTROL_TOPIC)

    def resume(self, dep_id: str) -> DeploymentRecord:
        """Make sure an interrupted deployment runs again: its agent recovers it at start;
        a workflow that DBOS gave up on is resumed explicitly."""
        record = self.store.deployments.get(dep_id)
        if record.status in ev.TERMINAL_STATUSES:
            raise InputError(
                f"deployment {record.id} already ended ({record.status}); nothing to resume"
            )
        # Recorded first: starting the agent may finish the deployment at once.
        self.store.events.append(
            record.id, record.correlation_id, ev.DEPLOYMENT_RESUMED, message=f"by {current_user()}"
        )
        client = self._client()
        status = client.retrieve_workflow(record.id).get_status()
        if status.status in {"ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}:
            client.resume_workflow(record.id)
        return record

    def rollback(
        self,
        loaded: LoadedManifest,
        environment: str,
        *,
        to: str | None = None,
        wait: float | None = None,
    ) -> DeploymentRecord:
        """Queue a rollback of `environment`: to its previous release (or `to`, a release
        or deployment id), re-using the kept release; an environment without releases
        goes back to an earlier successful manifest."""
        project = loaded.manifest.project
        done = self.store.deployments.list(
            project=project, environment=environment, statuses=["succeeded"], limit=1000
        )
        if not done:
            raise InputError(f"{project}/{environment} has no successful deployment to roll back")
        current = done[0]
        metadata: dict[str, Any] = {}
        if self.store.releases.active(project, environment) is not None:
            release = self._release_target(project, environment, to)
            target = self.store.deployments.get(release.deployment_id)
            metadata[ROLLBACK_RELEASE] = release.id
        else:
            target = self._rollback_target(done, current, to, environment)
        snapshot = target.manifest
        target_loaded = load_manifest_text(snapshot["source"], snapshot["path"])
        return self.submit(
            target_loaded,
            environment,
            kind="rollback",
            wait=wait,
            rollback_from=current.id,
            shared_metadata=metadata,
        )

    def _release_target(self, project: str, environment: str, to: str | None) -> ReleaseRecord:
        """The kept release a rollback activates: the one that served before the active
        one, or the release `to` names (`notes-dev-r3`, `r3`, `3` or a deployment id)."""
        releases = self.store.releases.list(project, environment)
        if to is None:
            found = self.store.releases.previous(project, environment)
            if found is None:
                raise InputError(f"{environment} has no earlier release kept to roll back to")
            return found
        wanted = to.removeprefix("r") if to.removeprefix("r").isdigit() else None
        matches = [
            r
            for r in releases
            if to in (r.id, r.deployment_id) or (wanted is not None and str(r.number) == wanted)
        ]
        if not matches:
            known = ", ".join(r.id for r in releases[:10]) or "none"
            raise InputError(f"{environment} has no release {to!r} (releases: {known})")
        release = matches[0]
        if release.status == "active":
            raise InputError(f"release {release.id} is already the active one")
        if release.status != "standby":
            raise InputError(
                f"release {release.id} is {release.status}: only a kept (standby) release "
                "can serve again"
            )
        return release

    def _rollback_target(
        self,
        done: list[DeploymentRecord],
        current: DeploymentRecord,
        to: str | None,
        environment: str,
    ) -> DeploymentRecord:
        if to is not None:
            target = self.store.deployments.get(to)
            if target.environment != environment or target.status != "succeeded":
                raise InputError(
                    f"deployment {target.id} is not a successful deployment of {environment}"
                )
            if target.id == current.id:
                raise InputError(f"deployment {target.id} is already the current one")
            return target
        for candidate in done[1:]:
            if candidate.manifest_digest != current.manifest_digest:
                return candidate
        raise InputError(
            f"{environment} has no earlier successful deployment with a different "
            "manifest to roll back to"
        )
