"""Configuration files rendered from Jinja2 templates (`config.files`).

A template is read and compiled when the configuration is resolved, and its source is
kept in the configuration version, so a rollback brings the templates back with the
values. It is rendered only when a service process starts, with secrets filled in, into
the process's private folder under the agent's run directory; the supervisor removes the
folder when the process stops or exits. No rendered file is ever written into a release
folder, which stays on disk for rollbacks (decision 0034).

Templates run in Jinja2's immutable sandbox with undefined names as errors: a template
can read the configuration but not reach Python internals or change what it was given.
At resolve time each one is rendered once with secrets left as `${secret:NAME}` text, so
a missing key or a runtime error is a configuration error at `template:line` before any
release starts, and no secret value is ever part of such a message.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shipway.config.errors import ConfigError
from shipway.manifest.sections import ConfigFileSpec


@dataclass(frozen=True)
class TemplateFile:
    """One file to render for one service: where it goes and the template's source."""

    service: str
    path: str
    mode: str
    #: The template's path as the manifest names it, for messages.
    template: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemplateFile:
        return cls(**{k: str(data[k]) for k in ("service", "path", "mode", "template", "source")})

    @property
    def file_mode(self) -> int:
        return int(self.mode, 8)


def load(specs: list[ConfigFileSpec], base_dir: Path) -> list[TemplateFile]:
    """Read and compile every template; a syntax error is a ConfigError at its line."""
    files = []
    for spec in specs:
        path = base_dir / spec.template
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise ConfigError(f"cannot read template: {reason}", path=path) from e
        file = TemplateFile(spec.service, spec.path, spec.mode, spec.template, source)
        _compile(file, base_dir)
        files.append(file)
    return files


def context(
    values: Mapping[str, Any], *, project: str, environment: str, service: str
) -> dict[str, Any]:
    """What a template sees."""
    return {"config": values, "project": project, "environment": environment, "service": service}


def render(file: TemplateFile, scope: Mapping[str, Any], base_dir: Path | None = None) -> str:
    """The file's text; a ConfigError at `template:line` when rendering fails (the path
    under `base_dir` when given, else as the manifest names it)."""
    template = _compile(file, base_dir)
    try:
        return template.render(scope)
    except jinja2.TemplateError as e:
        raise ConfigError(
            f"template error: {e.message or type(e).__name__}",
            path=_where(file, base_dir),
            line=_template_line(sys.exc_info()[2]),
        ) from None


def check(
    files: list[TemplateFile], values: Mapping[str, Any], *, project: str, env: str, base_dir: Path
) -> None:
    """Render every template once with secret references as text (never values)."""
    for file in files:
        scope = context(values, project=project, environment=env, service=file.service)
        render(file, scope, base_dir)


_ENVIRONMENT = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,
)


def _compile(file: TemplateFile, base_dir: Path | None) -> jinja2.Template:
    try:
        return _ENVIRONMENT.from_string(file.source)
    except jinja2.TemplateSyntaxError as e:
        raise ConfigError(
            f"template syntax error: {e.message}", path=_where(file, base_dir), line=e.lineno
        ) from None


def _where(file: TemplateFile, base_dir: Path | None) -> str:
    return file.template if base_dir is None else str(base_dir / file.template)


def _template_line(tb: TracebackType | None) -> int | None:
    """The template line a rendering error happened on, from jinja2's rewritten
    traceback (its frames for template code are named `<template>`)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
