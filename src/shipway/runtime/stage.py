"""The pipeline's `release` stage: build an immutable release and activate it on the
environment's target; on compensation, re-activate the release that served before.

A deployment builds a new release (a copy of each service's folder, its digest, the
services as resolved). A rollback deployment (`shipway rollback`) re-activates a kept
release instead, with no rebuild. Either way the previous release is recorded first, so
the saga can switch back to it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from shipway.config import (
    release_config_version,
    release_files,
    resolve_for_release,
    secret_source,
)
from shipway.errors import StageError
from shipway.manifest import ResolvedEnvironment
from shipway.manifest.services import ServiceSpec
from shipway.orchestrator.names import ROLLBACK_RELEASE
from shipway.orchestrator.stages import Stage, StageContext, StageOutcome, registry
from shipway.orchestrator.stages.interface import StageCancelledError
from shipway.provisioner.outputs import resource_values
from shipway.runtime.artifacts import ArtifactError, copy_artifact, remove_artifact
from shipway.runtime.host import ServiceHost, current_host
from shipway.runtime.interpolation import render
from shipway.runtime.local import LocalTarget
from shipway.runtime.release import PORT_REFERENCE, HealthSpec, ServiceRelease, public_url
from shipway.runtime.supervisor import CONFIG_DIR_REFERENCE
from shipway.runtime.target import Target
from shipway.store.records import ReleaseRecord


def release_root(home: Path, environment: str) -> Path:
    return home / "releases" / environment


class ReleaseStage(Stage):
    name = "release"
    completed_event = "RELEASE_ACTIVATED"
    section = "services"

    def describe(self, environment: ResolvedEnvironment) -> list[str]:
        lines = []
        for name, spec in environment.services.items():
            where = f" on {public_url(spec.bind, spec.port)}" if spec.port else ""
            lines.append(f"release {name}{where} (health-gated switch)")
        return lines

    def run(self, ctx: StageContext) -> StageOutcome:
        host = current_host()
        store = host.store
        target = _target(ctx, host)
        project = ctx.loaded.manifest.project
        _fail_interrupted(ctx)
        current = store.releases.active(project, ctx.environment.name)
        reuse = ctx.deployment.shared_metadata.get(ROLLBACK_RELEASE)
        if reuse:
            release = store.releases.get(str(reuse))
            if release.status not in {"standby", "rolled_back", "active"}:
                raise StageError(f"release {release.id} is {release.status}: it cannot serve")
            if current is not None and current.id == release.id:
                return _outcome(release, "already active")
        else:
            release = _build(ctx, host.executor_id)
        ctx.register_compensation(
            release=release.id,
            previous=current.id if current else None,
            reused=bool(reuse),
        )
        ctx.emit(
            "RELEASE_STAGED",
            f"{release.id} ({release.artifact_digest[:19]})"
            + (" re-used, no rebuild" if reuse else ""),
            release=release.id,
        )
        try:
            target.activate(ctx, release, current)
        except (StageError, StageCancelledError) as exc:
            # A new release that did not go live never serves: its processes are stopped.
            if not reuse:
                store.releases.set_status(release.id, "failed", error=str(exc))
            raise
        _prune(ctx, release)
        return _outcome(store.releases.get(release.id), "now serving")

    def compensate(self, ctx: StageContext, data: dict[str, Any]) -> None:
        host = current_host()
        store = host.store
        target = _target(ctx, host)
        release = store.releases.get(str(data["release"]))
        previous = store.releases.get(str(data["previous"])) if data.get("previous") else None
        if release.status == "active":
            if previous is not None and Path(_cwd_of(previous)).exists():
                target.activate(ctx, previous, release)
            else:
                target.deactivate(ctx, release)
        else:
            for name in _processes_of(host, release):
                host.stop(name)
        if data.get("reused"):
            store.releases.set_status(release.id, "standby")
        elif release.status != "failed":
            store.releases.set_status(release.id, "rolled_back")


def _target(ctx: StageContext, host: ServiceHost) -> Target:
    if ctx.environment.spec.target != "local":
        raise StageError(
            f"target {ctx.environment.spec.target!r} cannot release services yet: only "
            "`local` (this machine's agent) is built"
        )
    return LocalTarget(host, host.store)


def _fail_interrupted(ctx: StageContext) -> None:
    """A release staged by an earlier, interrupted attempt of this deployment never served:
    stop what is left of it and mark it failed."""
    store = current_host().store
    for release in store.releases.list(
        ctx.loaded.manifest.project, ctx.environment.name, statuses=["staged"]
    ):
        if release.deployment_id == ctx.deployment.deployment_id:
            for name in _processes_of(current_host(), release):
                current_host().stop(name)
            store.releases.set_status(release.id, "failed", error="interrupted before it served")


def _processes_of(host: ServiceHost, release: ReleaseRecord) -> list[str]:
    return [
        status.name
        for status in host.processes_of(release.project, release.environment)
        if status.labels.get("release") == release.id
    ]


def _build(ctx: StageContext, executor_id: str) -> ReleaseRecord:
    """Copy each service's folder into the release and record it."""
    env = ctx.environment
    project = ctx.loaded.manifest.project
    folder = release_root(ctx.home, env.name) / ctx.deployment.deployment_id
    shutil.rmtree(folder, ignore_errors=True)
    digests = []
    services: dict[str, Any] = {}
    for name, spec in sorted(env.services.items()):
        source = (ctx.base_dir / spec.workdir).resolve()
        try:
            digest = copy_artifact(source, folder / name)
        except ArtifactError as exc:
            raise StageError(str(exc)) from exc
        digests.append(f"{name}={digest}")
        services[name] = _service_release(ctx, name, spec, folder / name).to_dict()
    artifact = "sha256:" + hashlib.sha256("\n".join(digests).encode()).hexdigest()
    return current_host().store.releases.create(
        project=project,
        environment=env.name,
        deployment_id=ctx.deployment.deployment_id,
        manifest_digest=ctx.deployment.manifest_digest,
        artifact_digest=artifact,
        services=services,
        executor_id=executor_id,
        config_version=release_config_version(ctx),
    )


def _service_release(ctx: StageContext, name: str, spec: ServiceSpec, cwd: Path) -> ServiceRelease:
    env = ctx.environment
    data_dir = ctx.home / "data" / env.name / name
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {str(k): str(v) for k, v in env.variables.items()}
    # `config.KEY` from the version the configure stage applied; `secret:NAME` stays a
    # reference, read when the process starts.
    values.update(resolve_for_release(ctx, current_host().store))
    # `resources.NAME.ATTR` from the environment's recorded resource outputs; credentials
    # in them are `${secret:...}` references, revealed when the process starts.
    outputs = current_host().store.resources.outputs(ctx.loaded.manifest.project, env.name)
    values.update(resource_values(outputs))
    values.update(
        {
            "port": PORT_REFERENCE,
            "project": ctx.loaded.manifest.project,
            "environment": env.name,
            "service": name,
            "deployment": ctx.deployment.deployment_id,
            "data_dir": str(data_dir),
            "config_dir": CONFIG_DIR_REFERENCE,
        }
    )
    where = f"services.{name}"
    health = spec.health
    files, file_scope = release_files(ctx, name, current_host().store)
    return ServiceRelease(
        service=name,
        run=render(spec.run, values, f"{where}.run"),
        cwd=str(cwd),
        env={k: render(v, values, f"{where}.env.{k}") for k, v in spec.env.items()},
        public_port=spec.port,
        bind=spec.bind,
        health=HealthSpec(
            http=health.http,
            command=None
            if health.command is None
            else render(health.command, values, f"{where}.health.command"),
            interval=float(health.interval),
            timeout=float(health.timeout),
            healthy_after=health.healthy_after,
            start_timeout=float(health.start_timeout),
        ),
        drain_timeout=float(spec.drain_timeout),
        memory_limit=None if spec.limits.memory is None else int(spec.limits.memory),
        secret_source=secret_source(ctx),
        files=files,
        file_scope=file_scope,
        log_file=str(ctx.home / "logs" / name / f"{env.name}-{ctx.deployment.deployment_id}.log"),
    )


def _cwd_of(release: ReleaseRecord) -> str:
    first = next(iter(release.services.values()), None)
    return str(first["cwd"]) if first else ""


def _prune(ctx: StageContext, active: ReleaseRecord) -> None:
    """Keep `keep_releases` stopped releases for rollback; delete the files of older ones."""
    store = current_host().store
    keep = max((s.keep_releases for s in ctx.environment.services.values()), default=5)
    old = store.releases.list(
        active.project, active.environment, statuses=["standby", "failed", "rolled_back"]
    )
    standby = [r for r in old if r.status == "standby"]
    doomed = standby[keep:] + [r for r in old if r.status != "standby" and r.number < active.number]
    for release in doomed:
        for data in release.services.values():
            remove_artifact(Path(str(data["cwd"])))
        folder = Path(_cwd_of(release)).parent
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        store.releases.set_status(release.id, "pruned")


def _outcome(release: ReleaseRecord, note: str) -> StageOutcome:
    urls = {
        name: url
        for name, data in release.services.items()
        if (url := ServiceRelease.from_dict(data).public_url) is not None
    }
    where = ", ".join(f"{name} on {url}" for name, url in urls.items())
    return StageOutcome(
        message=f"{release.id} {note}" + (f": {where}" if where else ""),
        outputs={
            "release": release.id,
            "number": release.number,
            "artifact_digest": release.artifact_digest,
            "urls": urls,
        },
    )


registry.register(ReleaseStage)
