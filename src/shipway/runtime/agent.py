"""The local agent: the long-running process that owns this workspace's DBOS executor
and runs its deployments (DESIGN.md section 4).

One agent per workspace, guarded by an exclusive lock on `.shipway/agent.lock`, so two
executors with the same id never share a system database. The CLI starts it in the
background when none is running; it outlives the CLI.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

from shipway import __version__
from shipway.errors import AgentError
from shipway.orchestrator.names import LEASE_TTL, QUEUE_NAME
from shipway.workspace import Workspace, mask_url

if TYPE_CHECKING:
    from shipway.store import Store

START_DEADLINE = 60.0
STOP_DEADLINE = 30.0
HEARTBEAT_INTERVAL = 5.0
#: An executor whose last heartbeat is older than this is taken for dead.
EXECUTOR_STALE_AFTER = 3 * HEARTBEAT_INTERVAL


@dataclass(frozen=True)
class AgentInfo:
    pid: int
    executor_id: str
    started_at: str
    version: str
    state: str


def info_path(ws: Workspace) -> Path:
    return ws.home / "agent.json"


def lock_path(ws: Workspace) -> Path:
    return ws.home / "agent.lock"


def running_agent(ws: Workspace) -> AgentInfo | None:
    """The agent serving this workspace, if one is alive and ready."""
    try:
        data = json.loads(info_path(ws).read_text())
        info = AgentInfo(**data)
    except (OSError, ValueError, TypeError):
        return None
    if not _pid_alive(info.pid) or not _lock_held(ws):
        return None
    return info


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def executor_alive(host: str, pid: int) -> bool:
    """Whether an executor with a recent heartbeat still runs. On this host the process
    table answers at once (a killed agent's heartbeat stays fresh for a few seconds);
    elsewhere the heartbeat is all we know."""
    if host != socket.gethostname():
        return True
    return _pid_alive(pid)


def _lock_held(ws: Workspace) -> bool:
    path = lock_path(ws)
    if not path.exists():
        return False
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def ensure_agent(ws: Workspace) -> AgentInfo:
    """Return the running agent, starting one in the background when there is none."""
    info = running_agent(ws)
    if info is not None:
        return info
    return start_agent(ws)


def start_agent(ws: Workspace) -> AgentInfo:
    """Start the agent as a detached process and wait until it is ready."""
    ws.logs_dir.mkdir(parents=True, exist_ok=True)
    log = ws.logs_dir / "agent.log"
    command = [
        sys.executable,
        "-m",
        "shipway",
        "agent",
        "run",
        "--home",
        str(ws.home),
        "--state",
        ws.state_url,
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            cwd=ws.home.parent,
        )
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        info = running_agent(ws)
        if info is not None:
            return info
        if process.poll() is not None and running_agent(ws) is None:
            # Another CLI may have started the agent at the same moment: ours lost the lock.
            time.sleep(0.2)
            if (info := running_agent(ws)) is not None:
                return info
            raise AgentError(
                f"the agent exited with code {process.returncode}: {_last_line(log)} (log: {log})"
            )
        time.sleep(0.1)
    raise AgentError(f"the agent did not become ready within {START_DEADLINE:.0f}s (log: {log})")


def stop_agent(ws: Workspace, *, keep_services: bool = False) -> AgentInfo | None:
    """Ask the agent to stop, with the services it supervises unless `keep_services`,
    and wait for it; None when no agent was running."""
    info = running_agent(ws)
    if info is None:
        return None
    os.kill(info.pid, signal.SIGUSR1 if keep_services else signal.SIGTERM)
    deadline = time.monotonic() + STOP_DEADLINE
    while time.monotonic() < deadline:
        if not _pid_alive(info.pid):
            return info
        time.sleep(0.1)
    raise AgentError(f"the agent (pid {info.pid}) did not stop within {STOP_DEADLINE:.0f}s")


def _last_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
        if lines:
            return lines[-1][-300:]
    return "no output"


class Agent:
    """The executing process: `shipway agent run` (one per workspace) or `shipway worker`
    (any number per PostgreSQL state store, each with its own executor id)."""

    def __init__(self, ws: Workspace, *, worker_id: str | None = None) -> None:
        self.ws = ws
        self.kind = "agent" if worker_id is None else "worker"
        self.executor_id = ws.executor_id if worker_id is None else worker_id
        # One lock per executor id on this host: never two executors with one id.
        self.lock_file = (
            lock_path(ws) if worker_id is None else ws.home / f"worker-{worker_id}.lock"
        )
        self.info_file = (
            info_path(ws) if worker_id is None else ws.home / f"worker-{worker_id}.json"
        )
        self.run_dir = ws.home / ("run" if worker_id is None else f"run-{worker_id}")
        self._stop = threading.Event()
        self._keep_services = False
        self._lock_handle: IO[str] | None = None

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT."""
        self.ws.home.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGUSR1, self._on_detach)
        from dbos import DBOS

        from shipway.orchestrator import engine
        from shipway.runtime.host import ServiceHost, bind_host
        from shipway.store import Store

        store = Store.open(self.ws.state_url)
        if not self.ws.is_postgres:
            _use_wal(self.ws.home / "dbos.sqlite")
        engine.bind(engine.EngineRuntime(store, self.ws.home, self.executor_id))
        # Services first: the public ports of active releases open again before any
        # recovered deployment touches them.
        host = ServiceHost(store, self.executor_id, self.run_dir)
        bind_host(host)
        for note in host.restore():
            print(f"services: {note}", file=sys.stderr, flush=True)
        from shipway.monitor.collectors import CollectorContext, start_collectors

        collectors = start_collectors(
            CollectorContext(store, self.ws.home, self.executor_id, host, self._stop)
        )
        DBOS(
            config={
                "name": "shipway",
                "system_database_url": self.ws.system_database_url,
                "application_version": __version__,
                "executor_id": self.executor_id,
                "log_level": "WARNING",
            }
        )
        try:
            DBOS.launch()
            DBOS.register_queue(QUEUE_NAME, partition_concurrency=1, polling_interval_sec=0.05)
            _wait_for_queue_worker(QUEUE_NAME)
            self._heartbeat(store)
            self._write_info()
            while not self._stop.wait(HEARTBEAT_INTERVAL):
                self._heartbeat(store)
        finally:
            with contextlib.suppress(OSError):
                self.info_file.unlink()
            with contextlib.suppress(Exception):
                store.executors.remove(self.executor_id)
            DBOS.destroy(destroy_registry=False)
            self._stop.set()
            for thread in collectors:
                thread.join(timeout=5)
            host.shutdown(stop_services=not self._keep_services)
            bind_host(None)
            store.close()

    def _heartbeat(self, store: Store) -> None:
        # A store that is briefly unreachable must not end the agent: the next beat retries.
        with contextlib.suppress(Exception):
            store.leases.renew_owned(self.executor_id, LEASE_TTL)
            store.executors.heartbeat(
                self.executor_id,
                kind=self.kind,
                host=socket.gethostname(),
                pid=os.getpid(),
                version=__version__,
            )

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def _on_detach(self, signum: int, frame: FrameType | None) -> None:
        """SIGUSR1: stop, but leave the services running for the next agent to adopt."""
        self._keep_services = True
        self._stop.set()

    def _take_lock(self) -> None:
        handle = self.lock_file.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise AgentError(
                f"an {self.kind} with executor id {self.executor_id!r} already runs for "
                f"{self.ws.home}"
            ) from exc
        self._lock_handle = handle

    def _write_info(self) -> None:
        info = {
            "pid": os.getpid(),
            "executor_id": self.executor_id,
            "started_at": datetime.now(UTC).isoformat(),
            "version": __version__,
            "state": mask_url(self.ws.state_url),
        }
        tmp = self.info_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(self.info_file)


def _use_wal(path: Path) -> None:
    """Put DBOS's SQLite system database in WAL mode before DBOS opens it.

    NOTE: DBOS 3.4.0 leaves SQLite in rollback-journal mode, where every checkpointed step
    costs several fsyncs; WAL (persistent in the file) cut the pipeline overhead benchmark
    from 45 to a few ms per stage. Readers in other processes (the CLI's DBOS client) work
    unchanged in WAL mode.
    """
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def _wait_for_queue_worker(queue: str, deadline: float = 3.0) -> None:
    """Report ready only once DBOS polls our queue.

    NOTE: DBOS 3.4.0 looks for newly registered queues once a second; without this wait
    the first deployment after the very first agent start sat up to a second in the queue.
    """
    name = f"queue-worker-{queue}"
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        if any(thread.name == name for thread in threading.enumerate()):
            return
        time.sleep(0.02)
