"""Configuration files for services, and live updates of running ones.

Each service of an environment gets its configuration as a file in its data folder,
`.shipway/data/ENV/SERVICE/shipway-config.json` (`${data_dir}/shipway-config.json` in the
manifest): the version id, the values, and the keys whose values hold secrets (kept as
`${secret:NAME}` references: secret values reach a process through its environment
and the template files of `config.files` only). The configure stage writes it before the
release starts.

`shipway config apply --live` writes a new version's file, re-renders the template files
of the running processes (which keep rendering from the new templates when the
supervisor restarts them), then tells each running process of the active release to
reload, as `config.reload.SERVICE` says: a signal, or a POST to a path on the process's
private port. No process restarts.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from shipway.config.secrets import SecretBackend
from shipway.config.secrets.local import write_private
from shipway.config.versions import ConfigVersion
from shipway.manifest.sections import ReloadSpec
from shipway.store import Store

CONFIG_FILE = "shipway-config.json"
TIMEOUT = 5.0
_SIGNALS = {"HUP": signal.SIGHUP, "USR1": signal.SIGUSR1, "USR2": signal.SIGUSR2}


def config_file(home: Path, environment: str, service: str) -> Path:
    return home / "data" / environment / service / CONFIG_FILE


def write_service_files(
    home: Path, environment: str, services: Iterable[str], version: ConfigVersion | None
) -> list[Path]:
    """Write (or, for no version, remove) each service's configuration file."""
    written = []
    for service in services:
        file = config_file(home, environment, service)
        if version is None:
            file.unlink(missing_ok=True)
            continue
        document = {
            "version": version.id,
            "values": version.values,
            "secrets": [
                {"key": list(path), "names": list(names)} for path, names in version.secrets.items()
            ],
        }
        write_private(file, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())
        written.append(file)
    return written


def render_running_files(
    store: Store,
    run_dir: Path,
    project: str,
    environment: str,
    version: ConfigVersion,
    source: SecretBackend,
) -> list[str]:
    """Re-render the template files of every running process of the environment's active
    release from `version`, before they are told to reload, and leave the templates where
    the supervisor renders from at the process's next start. The services that got files."""
    from shipway.config.delivery import escaped_scope, render_files
    from shipway.runtime.supervisor import files_dir, live_files

    active = store.releases.active(project, environment)
    if active is None:
        return []
    done = []
    for process in store.processes.list(project, environment):
        if process.release_id != active.id or process.state != "running":
            continue
        files = [file.to_dict() for file in version.files_of(process.service)]
        folder = files_dir(run_dir, process.name)
        if not files and not folder.exists():
            continue
        scope = escaped_scope(version, project, environment, process.service)
        live = live_files(run_dir, process.name)
        live.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_private(live, json.dumps({"files": files, "scope": scope}).encode())
        render_files(files, scope, folder, source)
        done.append(process.service)
    return done


@dataclass(frozen=True)
class Reload:
    """What a live update did to one running process."""

    service: str
    pid: int
    how: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "service": self.service,
            "pid": self.pid,
            "how": self.how,
            "ok": self.ok,
            "detail": self.detail,
        }


def reload_running(
    store: Store, project: str, environment: str, reload: dict[str, ReloadSpec]
) -> list[Reload]:
    """Tell every running process of the environment's active release to reload."""
    active = store.releases.active(project, environment)
    if active is None:
        return []
    out = []
    for process in store.processes.list(project, environment):
        if process.release_id != active.id or process.pid is None or process.state != "running":
            continue
        spec = reload.get(process.service)
        if spec is None:
            out.append(
                Reload(process.service, process.pid, "none", False, "no config.reload declared")
            )
        elif spec.signal is not None:
            out.append(_signal(process.service, process.pid, spec.signal))
        elif spec.url is not None:
            out.append(_post(process.service, process.pid, spec.url))
    return out


def _signal(service: str, pid: int, name: str) -> Reload:
    try:
        os.kill(pid, _SIGNALS[name])
    except OSError as e:
        return Reload(service, pid, f"SIG{name}", False, type(e).__name__)
    return Reload(service, pid, f"SIG{name}", True)


def _post(service: str, pid: int, path: str) -> Reload:
    port = _listening_port(pid)
    if port is None:
        return Reload(service, pid, f"POST {path}", False, "the process listens on no port")
    try:
        answer = httpx.post(f"http://127.0.0.1:{port}{path}", timeout=TIMEOUT)
    except httpx.HTTPError as e:
        return Reload(service, pid, f"POST {path}", False, type(e).__name__)
    return Reload(service, pid, f"POST {path}", answer.is_success, f"HTTP {answer.status_code}")


def _listening_port(pid: int) -> int | None:
    """The first TCP port the process (or a child of it) listens on."""
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            for connection in process.net_connections(kind="tcp"):
                if connection.status == psutil.CONN_LISTEN and connection.laddr:
                    return int(connection.laddr.port)
    return None
