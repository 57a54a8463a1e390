"""The release model shared by runtime targets: what one service of a release runs.

A `ServiceRelease` is stored in the release record (`releases.services`), so any agent can
start, re-start or roll back to a kept release from the store alone, without the manifest
or the code on disk as they are now.

The environment is stored rendered, but for `${port}` and `${secret:NAME}`: secret
values are read only when a process starts (`Supervisor`), so they reach neither the
store nor the supervisor's pid files.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipway.runtime.health import Probe
from shipway.runtime.supervisor import ProcessSpec

#: Variables of the agent's own environment a service inherits; everything else it gets
#: comes from its manifest entry.
INHERITED_ENV = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME", "SHELL")


@dataclass(frozen=True)
class HealthSpec:
    http: str | None
    command: str | None
    interval: float
    timeout: float
    healthy_after: int
    start_timeout: float


@dataclass(frozen=True)
class ServiceRelease:
    """One service of one release. `run`, `env` and the health command keep `${port}`:
    the private port is chosen each time the release is started (a rollback may find
    its old port taken); every other reference is already filled in."""

    service: str
    run: str
    cwd: str
    env: dict[str, str]
    public_port: int | None
    bind: str
    health: HealthSpec
    drain_timeout: float
    memory_limit: int | None
    log_file: str
    #: How the process start opens the environment's secret backend (names and
    #: settings, never values); None when the configuration manager did not run.
    secret_source: dict[str, Any] | None = None
    #: Template files (`config.files`) rendered at each start, and their values (secrets
    #: as references).
    files: list[dict[str, Any]] = field(default_factory=list)
    file_scope: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceRelease:
        return cls(**{**data, "health": HealthSpec(**data["health"])})

    def command(self, port: int | None) -> list[str]:
        return split_command(_with_port(self.run, port))

    def process_env(self, port: int | None) -> dict[str, str]:
        """The process's environment: a few inherited basics, the interpreter's folder
        first on PATH (so `python` is the one shipway runs on), `PORT`, then the
        manifest's variables."""
        env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
        path = os.environ.get("PATH", os.defpath)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), path])
        if port is not None:
            env["PORT"] = str(port)
        env.update({k: _with_port(v, port) for k, v in self.env.items()})
        return env

    def process_spec(self, name: str, port: int | None, labels: dict[str, str]) -> ProcessSpec:
        return ProcessSpec(
            name=name,
            command=self.command(port),
            cwd=self.cwd,
            env=self.process_env(port),
            log_file=self.log_file,
            memory_limit=self.memory_limit,
            labels={**labels, "private_port": "" if port is None else str(port)},
            secret_source=self.secret_source,
            files=self.files,
            file_scope=self.file_scope,
        )

    def probe(self, port: int | None) -> Probe:
        command = self.health.command
        return Probe(
            host="127.0.0.1",
            port=port,
            http=self.health.http,
            command=None if command is None else _with_port(command, port),
            timeout=self.health.timeout,
        )

    @property
    def public_url(self) -> str | None:
        return public_url(self.bind, self.public_port)


def public_url(bind: str, port: int | None) -> str | None:
    if port is None:
        return None
    host = "127.0.0.1" if bind in ("0.0.0.0", "::", "") else bind  # noqa: S104
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _with_port(text: str, port: int | None) -> str:
    return text.replace(PORT_REFERENCE, "" if port is None else str(port))


#: Left in place when a release is built, filled in when it is started.
PORT_REFERENCE = "${port}"


def process_name(release_id: str, service: str) -> str:
    """The supervisor's name of a service process: `RELEASE_ID/SERVICE`."""
    return f"{release_id}/{service}"


def split_command(run: str) -> list[str]:
    """`run` split like a shell splits words, without a shell (use `sh -c` for pipes)."""
    return shlex.split(run)
