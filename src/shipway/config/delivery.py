"""Delivering a configuration version to a release, and secrets to a starting process.

The runtime builds a release's command and environment with its own `render`; it asks
`resolve_for_release(ctx)` for the values of `${config.KEY}` (and for `${secret:NAME}`,
which map to themselves, so the release record keeps the reference, never the value).
Only when a process starts does `reveal_environment` replace each `${secret:NAME}` with
the backend's value, in the environment handed to the new process and nowhere else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from shipway.config import templates
from shipway.config.errors import SecretError
from shipway.config.interpolation import escape
from shipway.config.secrets import SecretBackend, open_backend
from shipway.config.secrets.local import write_private
from shipway.config.versions import ConfigVersion
from shipway.store import Store

if TYPE_CHECKING:
    from shipway.orchestrator.stages import StageContext

SECRET_IN_TEXT = re.compile(r"\$\$\{secret:|\$\{secret:([^}]*)\}")
#: `component_states["configure"]` keys the runtime reads.
VERSION_OUTPUT = "version"
SOURCE_OUTPUT = "secret_source"


def secret_names_in(texts: Iterable[str]) -> list[str]:
    """The names of the `${secret:NAME}` references in `texts`, in first-seen order."""
    found: dict[str, None] = {}
    for text in texts:
        for match in SECRET_IN_TEXT.finditer(text):
            if match.group(1):
                found.setdefault(match.group(1))
    return list(found)


def reveal(text: str, values: Mapping[str, SecretStr]) -> str:
    """`text` with each `${secret:NAME}` replaced by its value and `$${secret:` unescaped."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "${secret:"
        if name not in values:
            raise SecretError(f"secret {name!r} was not fetched")
        return values[name].get_secret_value()

    return SECRET_IN_TEXT.sub(replace, text)


def version_values(version: ConfigVersion) -> dict[str, str]:
    """`config.KEY` -> text for every key of `version` (mappings and lists too, as JSON);
    list items are `config.KEY.0`. Secret-bearing values keep their references; any other
    text that would read as one is escaped (`$${secret:`), as in a template."""
    out: dict[str, str] = {}

    def visit(value: Any, path: tuple[str | int, ...]) -> None:
        if path:
            text = _text(_escaped(version, value, path))
            out["config." + ".".join(str(part) for part in path)] = text
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, (*path, key))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                visit(item, (*path, i))

    visit(version.values, ())
    return out


def _escaped(version: ConfigVersion, value: Any, path: tuple[str | int, ...] = ()) -> Any:
    """`value` (at `path` of the version) with every text that does not hold secret
    references escaped, so revealing it later fills in references only."""
    if isinstance(value, dict):
        return {k: _escaped(version, v, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(version, v, (*path, i)) for i, v in enumerate(value)]
    if isinstance(value, str) and path not in version.secrets:
        return escape(value)
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _service_texts(ctx: StageContext) -> list[str]:
    texts = []
    for spec in ctx.environment.services.values():
        texts.append(spec.run)
        texts.extend(spec.env.values())
        if spec.health.command:
            texts.append(spec.health.command)
    return texts


def resolve_for_release(ctx: StageContext, store: Store | None = None) -> dict[str, str]:
    """Values for the runtime's `render`: `config.KEY` from the version the configure stage
    applied, and `secret:NAME` -> `${secret:NAME}` for every secret the services name."""
    values = {
        f"secret:{name}": f"${{secret:{name}}}" for name in secret_names_in(_service_texts(ctx))
    }
    version = release_version(ctx, store)
    if version is not None:
        values.update(version_values(version))
    return values


def release_version(ctx: StageContext, store: Store | None = None) -> ConfigVersion | None:
    """The configuration version this deployment's configure stage applied, if it ran."""
    version_id = release_config_version(ctx)
    if version_id is None:
        return None
    if store is None:
        from shipway.config.stage import stage_store

        with stage_store(ctx) as opened:
            record = opened.config.get(version_id)
    else:
        record = store.config.get(version_id)
    return ConfigVersion.from_content(record.id, record.content)


def release_files(
    ctx: StageContext, service: str, store: Store | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The template files of `service` (`config.files`) and what they are rendered with
    at process start: the version's values with secrets still as references."""
    version = release_version(ctx, store)
    files = [] if version is None else version.files_of(service)
    if version is None or not files:
        return [], {}
    scope = escaped_scope(version, ctx.loaded.manifest.project, ctx.environment.name, service)
    return [file.to_dict() for file in files], scope


def escaped_scope(
    version: ConfigVersion, project: str, environment: str, service: str
) -> dict[str, Any]:
    """What `service`'s templates are rendered with: the version's values with secrets
    as references and every other text escaped, for `render_files` to reveal."""
    values = _escaped(version, version.values)
    return templates.context(values, project=project, environment=environment, service=service)


def render_files(
    files: list[dict[str, Any]],
    scope: Mapping[str, Any],
    folder: Path,
    source: Mapping[str, Any] | SecretBackend | None,
) -> None:
    """Render `files` into `folder` (created 0700; files with their modes) with every
    `${secret:NAME}` in `scope` replaced by its value (and `$${` unescaped). For a
    process about to start."""
    values = _revealed_tree(dict(scope), source)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    for entry in files:
        file = templates.TemplateFile.from_dict(entry)
        target = folder / file.path
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = templates.render(file, values)
        write_private(target, text.encode("utf-8"))
        target.chmod(file.file_mode)


def _revealed_tree(tree: Any, source: Mapping[str, Any] | SecretBackend | None) -> Any:
    texts: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(tree)
    names = secret_names_in(texts)
    secrets: dict[str, SecretStr] = {}
    if names:
        if source is None:
            raise SecretError(f"secret {names[0]!r} is referenced but no backend is configured")
        backend = source if isinstance(source, SecretBackend) else backend_for(source)
        secrets = backend.get_many(names)

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return reveal(value, secrets)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    return fill(tree)


def release_config_version(ctx: StageContext) -> str | None:
    """The configuration version a release of this deployment runs with (for the
    `releases.config_version` column), or None when the configure stage did not run."""
    state = ctx.deployment.component_states.get("configure") or {}
    version = state.get(VERSION_OUTPUT)
    return str(version) if version else None


def secret_source(ctx: StageContext) -> dict[str, Any]:
    """What a process start needs to open the environment's secret backend: names and
    settings, never values. JSON, to travel with the release."""
    spec = ctx.environment.config.secrets
    return {
        "backend": spec.backend,
        "settings": dict(spec.settings),
        "project": ctx.loaded.manifest.project,
        "environment": ctx.environment.name,
        "base_dir": str(ctx.base_dir),
        "home": str(ctx.home),
    }


def backend_for(source: Mapping[str, Any], env: Mapping[str, str] | None = None) -> SecretBackend:
    return open_backend(
        str(source["backend"]),
        project=str(source["project"]),
        environment=str(source["environment"]),
        base_dir=Path(str(source["base_dir"])),
        home=Path(str(source["home"])),
        settings=dict(source.get("settings") or {}),
        env=env,
    )


def reveal_environment(
    env: Mapping[str, str],
    source: Mapping[str, Any] | SecretBackend,
) -> dict[str, str]:
    """`env` with every `${secret:NAME}` replaced by its value, for the process about to
    start (see `reveal_process` for the command line too)."""
    return reveal_process([], env, source)[1]


def reveal_process(
    command: list[str], env: Mapping[str, str], source: Mapping[str, Any] | SecretBackend
) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of a process about to start, with every
    `${secret:NAME}` replaced; one backend read per secret."""
    names = secret_names_in([*command, *env.values()])
    if not names:
        return list(command), dict(env)
    backend = source if isinstance(source, SecretBackend) else backend_for(source)
    values = backend.get_many(names)
    return [reveal(arg, values) for arg in command], {k: reveal(v, values) for k, v in env.items()}
