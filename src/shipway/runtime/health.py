"""Health probes of a release on its private port: HTTP path, TCP connect, or command.

A probe never raises: it returns whether it passed and what it saw, which becomes the
release stage's error message when a release never gets healthy.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
from dataclasses import dataclass

MAX_OUTPUT = 300


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    output: str


@dataclass(frozen=True)
class Probe:
    """One service's health check, as stored in its release."""

    host: str
    port: int | None
    http: str | None
    command: str | None
    timeout: float

    def run(self, cwd: str, env: dict[str, str]) -> ProbeResult:
        if self.command is not None:
            return _command(self.command, cwd, env, self.timeout)
        if self.port is None:
            return ProbeResult(True, "no port: the process runs")
        if self.http is not None:
            return _http(self.host, self.port, self.http, self.timeout)
        return _tcp(self.host, self.port, self.timeout)


def _http(host: str, port: int, path: str, timeout: float) -> ProbeResult:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "shipway-health"})
        response = connection.getresponse()
        body = response.read(MAX_OUTPUT).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException) as exc:
        return ProbeResult(False, f"GET {path}: {_reason(exc)}")
    finally:
        connection.close()
    passed = 200 <= response.status < 300
    # NOTE: the body of a passing check is left out: it goes into events, and what a
    # service chooses to answer on its health path is not ours to record. A failing
    # check keeps it, since that is what explains the failure.
    summary = f"GET {path}: HTTP {response.status}" + (f" {body}" if body and not passed else "")
    return ProbeResult(passed, summary[:MAX_OUTPUT])


def _tcp(host: str, port: int, timeout: float) -> ProbeResult:
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return ProbeResult(False, f"TCP {host}:{port}: {_reason(exc)}")
    return ProbeResult(True, f"TCP {host}:{port}: accepted")


def _command(command: str, cwd: str, env: dict[str, str], timeout: float) -> ProbeResult:
    try:
        done = subprocess.run(  # noqa: S602 - the manifest's own health command, by design
            command,
            shell=True,
            cwd=cwd,
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"`{command}` timed out after {timeout:g}s")
    except OSError as exc:
        return ProbeResult(False, f"`{command}`: {exc}")
    text = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
    summary = f"`{command}` exited {done.returncode}" + (f": {text}" if text else "")
    return ProbeResult(done.returncode == 0, summary[:MAX_OUTPUT])


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
