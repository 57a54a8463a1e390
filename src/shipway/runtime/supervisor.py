"""Service processes under the agent: start them, watch them, restart them with backoff,
hold them to their memory limit, keep their output in rotating files, and find them
again after the agent itself restarts.

NOTE: services survive an agent restart (decision 0012). Each process runs in its own
session with stdout and stderr appended straight to a file, so nothing ties its life to
the agent's; a pid file with the process's start time lets the next agent re-adopt it
(a recycled pid has another start time and is not mistaken for ours).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import psutil

from shipway.errors import ShipwayError

State = Literal["running", "backoff", "crash_loop", "stopped"]

#: Replaced, at each start, by the process's private folder of rendered files.
CONFIG_DIR_REFERENCE = "${config_dir}"


class SupervisorError(ShipwayError):
    """A process could not be started or stopped."""


@dataclass(frozen=True)
class RestartPolicy:
    backoff: float = 1.0
    max_backoff: float = 30.0
    #: Consecutive crashes after which the process is reported as crash-looping.
    crash_loop_after: int = 3
    #: A run at least this long resets the count of consecutive crashes.
    healthy_uptime: float = 10.0


@dataclass(frozen=True)
class ProcessSpec:
    """What to run. `name` is unique per supervisor, e.g. `notes/api/r-3`."""

    name: str
    command: list[str]
    cwd: str
    env: dict[str, str]
    log_file: str
    memory_limit: int | None = None
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    #: Free-form tags kept with the pid file (the agent stores project, release, service).
    labels: dict[str, str] = field(default_factory=dict)
    #: Where `${secret:NAME}` references in `command` and `env` are read from at each
    #: start (see `shipway.config.reveal_process`); the spec itself holds no values.
    secret_source: dict[str, Any] | None = None
    #: Files rendered from templates into the process's private folder at each start
    #: (`${config_dir}`), removed when it exits or stops; see `shipway.config.render_files`.
    files: list[dict[str, Any]] = field(default_factory=list)
    file_scope: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessSpec:
        return cls(**{**data, "restart": RestartPolicy(**data.get("restart", {}))})


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    state: State
    pid: int | None
    restarts: int
    consecutive_crashes: int
    last_exit: str | None
    started_at: float | None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class _Managed:
    spec: ProcessSpec
    pid: int | None = None
    create_time: float | None = None
    popen: subprocess.Popen[bytes] | None = None
    state: State = "running"
    restarts: int = 0
    crashes: int = 0
    last_exit: str | None = None
    started_at: float | None = None
    restart_at: float = 0.0

    def status(self) -> ProcessStatus:
        return ProcessStatus(
            self.spec.name,
            self.state,
            self.pid,
            self.restarts,
            self.crashes,
            self.last_exit,
            self.started_at,
            dict(self.spec.labels),
        )


#: Handles of children that outlive the supervisor that started them, kept so that the
#: interpreter neither warns about them nor leaves zombies when they exit.
_DETACHED: list[subprocess.Popen[bytes]] = []

LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 5


class Supervisor:
    """Runs and watches service processes; one per agent."""

    def __init__(
        self, run_dir: Path, *, poll_interval: float = 0.2, log_max_bytes: int = LOG_MAX_BYTES
    ) -> None:
        self.run_dir = run_dir
        self.poll_interval = poll_interval
        self.log_max_bytes = log_max_bytes
        self._procs: dict[str, _Managed] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        run_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    # --- public -------------------------------------------------------------------------

    def start(self, spec: ProcessSpec) -> ProcessStatus:
        with self._lock:
            current = self._procs.get(spec.name)
            if current is not None and current.state != "stopped":
                raise SupervisorError(f"process {spec.name!r} is already running")
            managed = _Managed(spec)
            self._procs[spec.name] = managed
            self._spawn(managed)
            return managed.status()

    def stop(self, name: str, timeout: float = 10.0) -> None:
        """SIGTERM to the process group, SIGKILL after `timeout`; forget the process."""
        with self._lock:
            managed = self._procs.get(name)
            if managed is None:
                return
            managed.state = "stopped"
        _terminate(managed, timeout)
        with self._lock:
            self._procs.pop(name, None)
            _pid_file(self.run_dir, name).unlink(missing_ok=True)
            self._remove_files(name)
            live_files(self.run_dir, name).unlink(missing_ok=True)

    def stop_all(self, timeout: float = 10.0) -> None:
        with self._lock:
            names = list(self._procs)
        threads = [threading.Thread(target=self.stop, args=(n, timeout)) for n in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout + 5)

    def status(self, name: str | None = None) -> list[ProcessStatus]:
        with self._lock:
            return [m.status() for n, m in sorted(self._procs.items()) if name in (None, n)]

    def adopt(self) -> list[ProcessStatus]:
        """Take back the processes a previous agent left running; restart the dead ones."""
        found = []
        for path in sorted(self.run_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text())
                spec = ProcessSpec.from_dict(data["spec"])
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)
                continue
            managed = _Managed(spec, restarts=int(data.get("restarts", 0)))
            if _same_process(data.get("pid"), data.get("create_time")):
                managed.pid, managed.create_time = data["pid"], data["create_time"]
                managed.started_at = data["create_time"]
            else:
                managed.last_exit = "exited while the agent was down"
                managed.pid = None
                managed.restart_at = time.monotonic()
                managed.state = "backoff"
            with self._lock:
                self._procs[spec.name] = managed
            found.append(managed.status())
        return found

    def close(self) -> None:
        """Stop watching; the processes keep running (a next agent adopts them)."""
        self._stop.set()
        self._thread.join(5)
        with self._lock:
            _DETACHED.extend(m.popen for m in self._procs.values() if m.popen is not None)

    # --- internals ----------------------------------------------------------------------

    def _spawn(self, managed: _Managed) -> None:
        spec = managed.spec
        log = Path(spec.log_file)
        log.parent.mkdir(parents=True, exist_ok=True)
        folder = self.files_dir(spec.name)
        command, env = _revealed(spec)
        command = [arg.replace(CONFIG_DIR_REFERENCE, str(folder)) for arg in command]
        env = {k: v.replace(CONFIG_DIR_REFERENCE, str(folder)) for k, v in env.items()}
        files, scope = _files_of(spec, live_files(self.run_dir, spec.name))
        if files:
            _render_files(spec.name, files, scope, folder, spec.secret_source)
            env["SHIPWAY_CONFIG_DIR"] = str(folder)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            popen = subprocess.Popen(
                command,
                cwd=spec.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                start_new_session=True,
            )
        except OSError as exc:
            self._remove_files(spec.name)
            raise SupervisorError(f"cannot start {spec.name}: {exc}") from exc
        finally:
            os.close(fd)
        managed.popen = popen
        managed.pid = popen.pid
        managed.started_at = time.time()
        with contextlib.suppress(psutil.Error):
            managed.create_time = psutil.Process(popen.pid).create_time()
        managed.state = (
            "crash_loop" if managed.crashes >= spec.restart.crash_loop_after else "running"
        )
        self._write_pid_file(managed)

    def files_dir(self, name: str) -> Path:
        """The private folder of process `name`'s rendered configuration files."""
        return files_dir(self.run_dir, name)

    def _remove_files(self, name: str) -> None:
        shutil.rmtree(self.files_dir(name), ignore_errors=True)

    def _write_pid_file(self, managed: _Managed) -> None:
        data = {
            "pid": managed.pid,
            "create_time": managed.create_time,
            "restarts": managed.restarts,
            "spec": asdict(managed.spec),
        }
        path = _pid_file(self.run_dir, managed.spec.name)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval):
            with self._lock:
                items = list(self._procs.values())
            for managed in items:
                with contextlib.suppress(Exception):
                    self._check(managed)

    def _check(self, managed: _Managed) -> None:
        with self._lock:
            if managed.state == "stopped" or self._procs.get(managed.spec.name) is not managed:
                return
            if managed.pid is None:
                if time.monotonic() >= managed.restart_at:
                    self._restart(managed)
                return
            exit_reason = _exit_reason(managed)
            if exit_reason is None:
                exit_reason = self._over_memory(managed)
            if exit_reason is None:
                self._settle(managed)
                self._rotate(Path(managed.spec.log_file))
                return
            self._crashed(managed, exit_reason)

    def _settle(self, managed: _Managed) -> None:
        """A process that has stayed up `healthy_uptime` is out of its crash loop."""
        uptime = time.time() - (managed.started_at or time.time())
        if managed.crashes and uptime >= managed.spec.restart.healthy_uptime:
            managed.crashes = 0
            managed.state = "running"

    def _over_memory(self, managed: _Managed) -> str | None:
        limit = managed.spec.memory_limit
        if limit is None or managed.pid is None:
            return None
        used = _tree_rss(managed.pid)
        if used <= limit:
            return None
        _kill_group(managed.pid, signal.SIGKILL)
        if managed.popen is not None:
            managed.popen.wait(5)
        return f"killed: memory {used // 2**20} MiB over its limit {limit // 2**20} MiB"

    def _crashed(self, managed: _Managed, reason: str) -> None:
        policy = managed.spec.restart
        ran = time.time() - (managed.started_at or time.time())
        managed.crashes = 1 if ran >= policy.healthy_uptime else managed.crashes + 1
        managed.last_exit = reason
        managed.pid = None
        managed.popen = None
        # The files may hold secrets: none stays on disk while nothing runs to read it.
        self._remove_files(managed.spec.name)
        delay = min(policy.backoff * 2 ** (managed.crashes - 1), policy.max_backoff)
        managed.restart_at = time.monotonic() + delay
        managed.state = "crash_loop" if managed.crashes >= policy.crash_loop_after else "backoff"

    def _restart(self, managed: _Managed) -> None:
        managed.restarts += 1
        try:
            self._spawn(managed)
        except SupervisorError as exc:
            self._crashed(managed, str(exc))

    def _rotate(self, log: Path) -> None:
        """copytruncate: the process appends (O_APPEND), so it just carries on at 0."""
        try:
            if log.stat().st_size <= self.log_max_bytes:
                return
        except OSError:
            return
        for index in range(LOG_BACKUPS - 1, 0, -1):
            older = log.with_name(f"{log.name}.{index}")
            if older.exists():
                older.replace(log.with_name(f"{log.name}.{index + 1}"))
        shutil.copyfile(log, log.with_name(f"{log.name}.1"))
        with log.open("r+b") as handle:
            handle.truncate(0)


def _revealed(spec: ProcessSpec) -> tuple[list[str], dict[str, str]]:
    """The command and environment with their secret references filled in, just now."""
    if spec.secret_source is None:
        return spec.command, spec.env
    from shipway.config import SecretError, reveal_process

    try:
        return reveal_process(spec.command, spec.env, spec.secret_source)
    except SecretError as exc:
        raise SupervisorError(f"cannot start {spec.name}: {exc}") from exc


def files_dir(run_dir: Path, name: str) -> Path:
    """The private folder of process `name`'s rendered configuration files."""
    return run_dir / "files" / _pid_file(run_dir, name).stem


def live_files(run_dir: Path, name: str) -> Path:
    """Where `shipway config apply --live` leaves the templates and values (secrets as
    references) that process `name` renders from now on, instead of its release's."""
    return run_dir / "files-live" / _pid_file(run_dir, name).name


def _files_of(spec: ProcessSpec, live: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        data = json.loads(live.read_text())
        return list(data["files"]), dict(data["scope"])
    except (OSError, ValueError, KeyError, TypeError):
        return spec.files, spec.file_scope


def _render_files(
    name: str,
    files: list[dict[str, Any]],
    scope: dict[str, Any],
    folder: Path,
    source: dict[str, Any] | None,
) -> None:
    from shipway.config import render_files

    try:
        render_files(files, scope, folder, source)
    except (ShipwayError, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise SupervisorError(f"cannot start {name}: {exc}") from exc


def _pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".json")


def _same_process(pid: Any, create_time: Any) -> bool:
    if not isinstance(pid, int) or create_time is None:
        return False
    try:
        process = psutil.Process(pid)
        return bool(
            abs(process.create_time() - float(create_time)) < 0.01
            and process.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.Error:
        return False


def _exit_reason(managed: _Managed) -> str | None:
    """None while the process runs; otherwise how it ended."""
    if managed.popen is not None:
        code = managed.popen.poll()
        if code is None:
            return None
        return f"exited with code {code}" if code >= 0 else f"killed by signal {-code}"
    if _same_process(managed.pid, managed.create_time):
        return None
    return "exited (adopted process; exit code unknown)"


def _tree_rss(pid: int) -> int:
    try:
        process = psutil.Process(pid)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return int(total)
    except psutil.Error:
        return 0


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _terminate(managed: _Managed, timeout: float) -> None:
    pid = managed.pid
    if pid is None:
        return
    if managed.popen is None and not _same_process(pid, managed.create_time):
        return
    _kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _group_alive(pid, managed):
            return
        time.sleep(0.05)
    _kill_group(pid, signal.SIGKILL)
    if managed.popen is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            managed.popen.wait(5)


def _group_alive(pgid: int, managed: _Managed) -> bool:
    if managed.popen is not None and managed.popen.poll() is None:
        return True
    for process in psutil.process_iter(["pid"]):
        with contextlib.suppress(psutil.Error):
            if os.getpgid(process.info["pid"]) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                return True
    return False
