"""Listening ports of a service's processes that the manifest does not declare: a debug
server, an admin endpoint or a second listener nobody reviewed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import psutil

from shipway.scanner.findings import Severity
from shipway.scanner.runtime.problems import Problem, rule

UNDECLARED_PORT = rule(
    "undeclared-port",
    "Service listens on a port the manifest does not declare",
    "A listener nobody declared is a listener nobody reviewed: debuggers, metrics or "
    "admin endpoints opened by a library, reachable by whoever can reach the host.",
    "Turn the listener off, bind it to 127.0.0.1 if it is needed locally, or declare the "
    "service's port in shipway.yaml.",
    Severity.MEDIUM,
)
RULES = (UNDECLARED_PORT,)


def listening(pids: Iterable[int]) -> dict[int, tuple[str, int]]:
    """`port -> (address, pid)` of every TCP listener of the processes and their children."""
    found: dict[int, tuple[str, int]] = {}
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(pid)
            for process in (root, *root.children(recursive=True)):
                with contextlib.suppress(psutil.Error):
                    for conn in process.net_connections(kind="tcp"):
                        if conn.status == psutil.CONN_LISTEN and conn.laddr:
                            found.setdefault(conn.laddr.port, (conn.laddr.ip, process.pid))
    return found


def port_problems(pids: Iterable[int], declared: Iterable[int]) -> list[Problem]:
    allowed = set(declared)
    out = []
    for port, (address, pid) in sorted(listening(pids).items()):
        if port in allowed:
            continue
        detail = f"listens on {address}:{port} (pid {pid}), which the manifest does not declare"
        out.append(Problem(UNDECLARED_PORT, detail, str(port), {"port": str(port)}))
    return out
