"""The pipeline's `configure` stage: resolve the environment's configuration, refuse it
when it is invalid or names a secret the backend lacks, store it as an immutable version
and make it current; on compensation, make the previous version current again.

A rollback deployment (`shipway rollback`) does not read the layers: it makes current
again the exact version the release it returns to ran with, so configuration goes back
with the application.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from shipway.config.delivery import SOURCE_OUTPUT, VERSION_OUTPUT, secret_source
from shipway.config.errors import ConfigError
from shipway.config.git import GitError, commit_version
from shipway.config.live import write_service_files
from shipway.config.manager import ConfigurationManager
from shipway.config.versions import ConfigVersion, short
from shipway.errors import ManifestError, ShipwayError, StageError
from shipway.manifest import ResolvedEnvironment
from shipway.manifest.sections import LayerSpec
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.names import ROLLBACK_RELEASE
from shipway.orchestrator.stages import Stage, StageContext, StageOutcome, registry
from shipway.store import Store
from shipway.store.records import ConfigAction, ConfigHistoryRecord
from shipway.workspace import Workspace


@contextlib.contextmanager
def stage_store(ctx: StageContext) -> Iterator[Store]:
    """The agent's open store when running there; else the workspace's, opened here."""
    from shipway.runtime.host import current_host

    try:
        store = current_host().store
    except StageError:
        pass
    else:
        yield store
        return
    with Store.open(Workspace.at(ctx.home).state_url) as opened:
        yield opened


class ConfigureStage(Stage):
    """ConfigurationManager as a pipeline stage."""

    name = "configure"
    completed_event = STAGE_COMPLETION_EVENTS["configure"]
    section = "config"

    def describe(self, environment: ResolvedEnvironment) -> list[str]:
        spec = environment.config
        names = [layer.path if isinstance(layer, LayerSpec) else layer for layer in spec.layers]
        checks = ", validate against " + spec.schema_ if spec.schema_ else ""
        return [
            f"merge {len(names)} config layers ({', '.join(names) or 'none'}){checks}",
            f"check secrets in the {spec.secrets.backend} backend and store a version",
        ]

    def run(self, ctx: StageContext) -> StageOutcome:
        with stage_store(ctx) as store:
            project = ctx.loaded.manifest.project
            current = store.config.current(project, ctx.environment.name)
            returning_to = _rollback_version(ctx, store)
            action: ConfigAction
            if returning_to is not None:
                version, overrides, action = returning_to, _overrides_of(store, ctx), "rollback"
            else:
                overrides = dict(current.overrides) if current else {}
                version = _resolve(ctx, overrides)
                action = "deploy"
            _check_secrets(ctx, version)
            ctx.check_cancelled()
            store.config.save(version.id, version.content)
            ctx.register_compensation(
                applied=version.id,
                previous=current.version if current else None,
                previous_overrides=dict(current.overrides) if current else {},
                had_previous=current is not None,
            )
            record = store.config.record(
                project=project,
                environment=ctx.environment.name,
                version=version.id,
                action=action,
                deployment_id=ctx.deployment.deployment_id,
                overrides=overrides,
                user=ctx.deployment.user,
                message=f"{action} by deployment {ctx.deployment.deployment_id}",
            )
            write_service_files(ctx.home, ctx.environment.name, ctx.environment.services, version)
            commit = _commit(ctx, version, action)
        changed = current is None or current.version != version.id
        return StageOutcome(
            message=f"config {version.short} "
            + ("applied" if changed else "unchanged")
            + f" ({len(version.flat())} keys, {len(version.secret_names)} secrets)"
            + (" restored for the rollback" if action == "rollback" else ""),
            outputs=_outputs(ctx, version, record, changed, commit),
        )

    def compensate(self, ctx: StageContext, data: dict[str, Any]) -> None:
        with stage_store(ctx) as store:
            project = ctx.loaded.manifest.project
            current = store.config.current(project, ctx.environment.name)
            mine = current is not None and current.deployment_id == ctx.deployment.deployment_id
            if not mine or current is None or current.version != data.get("applied"):
                return  # never applied, or changed since: nothing of ours to undo
            previous = data.get("previous")
            store.config.record(
                project=project,
                environment=ctx.environment.name,
                version=str(previous) if previous else None,
                action="compensate",
                deployment_id=ctx.deployment.deployment_id,
                overrides=dict(data.get("previous_overrides") or {}),
                user=ctx.deployment.user,
                message=f"restored after deployment {ctx.deployment.deployment_id} failed",
            )
            version = None
            if previous:
                record = store.config.get(str(previous))
                version = ConfigVersion.from_content(record.id, record.content)
            write_service_files(ctx.home, ctx.environment.name, ctx.environment.services, version)
            _commit(ctx, version, "compensate")


def _resolve(ctx: StageContext, overrides: dict[str, Any]) -> ConfigVersion:
    manager = ConfigurationManager(ctx.loaded, ctx.environment, ctx.home)
    try:
        resolution = manager.resolve(overrides=overrides, resources=_resources(ctx))
    except ConfigError as e:
        raise StageError(str(e)) from e
    return resolution.version()


def _resources(ctx: StageContext) -> Mapping[str, Mapping[str, Any]]:
    """Resource attributes the provision stage reported (`outputs["resources"]`)."""
    state = ctx.deployment.component_states.get("provision") or {}
    resources = state.get("resources") or {}
    return {str(k): dict(v) for k, v in resources.items() if isinstance(v, dict)}


def _check_secrets(ctx: StageContext, version: ConfigVersion) -> None:
    """Every secret the version names must exist (and open) before anything changes."""
    names = version.secret_names
    if not names:
        return
    try:
        manager = ConfigurationManager(ctx.loaded, ctx.environment, ctx.home)
        missing = manager.backend().missing(names)
    except ShipwayError as e:
        raise StageError(f"secrets unavailable: {e}") from e
    if missing:
        backend = ctx.environment.config.secrets.backend
        shown = ", ".join(missing[:5]) + (
            f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        )
        raise StageError(
            f"unresolved secret{'s' if len(missing) > 1 else ''} in the {backend} backend for "
            f"{ctx.environment.name}: {shown} (set with: shipway secrets set -e "
            f"{ctx.environment.name} NAME)"
        )


def _rollback_version(ctx: StageContext, store: Store) -> ConfigVersion | None:
    """The version the release a rollback returns to ran with, if it had one."""
    if ctx.kind != "rollback":
        return None
    release_id = ctx.deployment.shared_metadata.get(ROLLBACK_RELEASE)
    if not release_id:
        return None
    release = store.releases.get(str(release_id))
    version_id = release.config_version
    if version_id is None:
        applied = store.config.applied_by(release.deployment_id)
        version_id = applied.version if applied else None
    if version_id is None:
        return None
    record = store.config.get(version_id)
    return ConfigVersion.from_content(record.id, record.content)


def _overrides_of(store: Store, ctx: StageContext) -> dict[str, Any]:
    release_id = ctx.deployment.shared_metadata.get(ROLLBACK_RELEASE)
    release = store.releases.get(str(release_id))
    applied = store.config.applied_by(release.deployment_id)
    return dict(applied.overrides) if applied else {}


def _commit(ctx: StageContext, version: ConfigVersion | None, action: ConfigAction) -> str | None:
    repo = ctx.environment.config.git
    if repo is None:
        return None
    try:
        return commit_version(
            ctx.loaded.resolve_path(repo),
            project=ctx.loaded.manifest.project,
            environment=ctx.environment.name,
            version=version,
            action=action,
            deployment_id=ctx.deployment.deployment_id,
            user=ctx.deployment.user,
        )
    except (GitError, ManifestError) as e:
        raise StageError(f"config.git: {e}") from e


def _outputs(
    ctx: StageContext,
    version: ConfigVersion,
    record: ConfigHistoryRecord,
    changed: bool,
    commit: str | None,
) -> dict[str, Any]:
    """What later stages find in `component_states["configure"]` (and the event carries)."""
    descriptor = version.descriptor(
        ctx.loaded.manifest.project,
        ctx.environment.name,
        ctx.environment.config.secrets.backend,
        record.created_at,
    )
    return {
        VERSION_OUTPUT: version.id,
        "short": short(version.id),
        "changed": changed,
        "keys": len(version.flat()),
        "secrets": version.secret_names,
        "git_commit": commit,
        SOURCE_OUTPUT: secret_source(ctx),
        "descriptor": {
            "config_type": descriptor.config_type,
            "config_id": descriptor.config_id,
            "parameters": descriptor.parameters,
            "security_context": descriptor.security_context,
            "version": descriptor.version,
            "last_modified": record.created_at.isoformat(),
        },
    }


registry.register(ConfigureStage)
