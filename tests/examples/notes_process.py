"""Runs the example notes application as a real process, as shipway's runtime will.

`python -m notes.app` in `examples/notes/app`, stdout (JSON logs) and stderr captured in
files (a pipe nobody reads would block the server once full).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

APP_DIR = Path(__file__).resolve().parents[2] / "examples" / "notes" / "app"
# Variables the app reads; never inherited from the developer's shell.
APP_VARIABLES = ("DATABASE_URL", "NOTES_VERSION", "FAIL_HEALTH", "CRASH_ON_START", "PORT", "HOST")
START_SECONDS = 20.0
# NOTES_VERSION of the shared process (the `notes_app` fixture).
SHARED_VERSION = "7.1-shared"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


class NotesProcess:
    """One running `python -m notes.app`; `close()` always leaves no process behind.

    `env` is laid over the test's environment (minus APP_VARIABLES); None values are
    left out, so that the application's defaults apply.
    """

    def __init__(
        self,
        log_dir: Path,
        env: Mapping[str, str | None],
        *,
        args: Sequence[str] | None = None,
        cwd: Path = APP_DIR,
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.stdout_path = log_dir / f"notes-{self.port}.out"
        self.stderr_path = log_dir / f"notes-{self.port}.err"
        # The default database is ./notes.db: a test must never write into the source tree.
        assert cwd != APP_DIR or env.get("DATABASE_URL"), "set DATABASE_URL when cwd is APP_DIR"
        full_env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
        full_env.update({k: v for k, v in env.items() if v is not None})
        command = [sys.executable, "-m", "notes.app"]
        command += ["--port", str(self.port)] if args is None else list(args)
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=out, stderr=err)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10, follow_redirects=False)

    def output(self) -> str:
        return self.stdout_path.read_text() + self.stderr_path.read_text()

    def log_lines(self) -> list[dict[str, Any]]:
        """Every stdout line, parsed: each one must be a JSON object."""
        return [json.loads(line) for line in self.stdout_path.read_text().splitlines()]

    def wait_ready(self) -> NotesProcess:
        """Wait until /health answers at all (200 or 503); fail if the process exits."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"notes exited with {self.proc.returncode}:\n{self.output()}")
            try:
                httpx.get(f"{self.base_url}/health", timeout=2)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"notes did not answer within {START_SECONDS}s:\n{self.output()}")

    def wait_exit(self, timeout: float = 15) -> int:
        return self.proc.wait(timeout=timeout)

    def terminate(self, timeout: float = 15) -> int:
        """SIGTERM, as a supervisor stops a release; the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
