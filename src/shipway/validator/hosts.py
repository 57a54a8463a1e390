"""Hosts the checks read: this machine (`LocalHost`), or one reached over SSH (`SshHost`
in `ssh.py`).

A host runs plain commands and opens TCP connections *from* itself; checks build on those
two. Facts that several checks share (the listening sockets, the process table) are read
once per host and run through `fact`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import signal
import socket
import ssl
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Exit status of a command that could not be found (what a POSIX shell reports).
NOT_FOUND = 127


async def in_daemon_thread(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a daemon thread. A check that times out leaves the call behind
    without holding up the end of the run or the process's exit, which the event loop's
    default executor would (a resolver or a hung mount can block for tens of seconds)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = function(*args)
        except Exception as e:
            error = e
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=work, name="shipway-check", daemon=True).start()
    return await future


def error_text(error: OSError) -> str:
    """`Connection refused` rather than asyncio's `Connect call failed ('10.0.0.1', 80)`."""
    if isinstance(error, ssl.SSLError):  # its errno is OpenSSL's, not the system's
        return f"TLS handshake failed: {error.reason or error}"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the name: {error.strerror}"
    if error.errno and error.errno > 0:
        return os.strerror(error.errno)
    return error.strerror or str(error) or type(error).__name__


@dataclass(frozen=True)
class CommandResult:
    """What a command printed and how it exited."""

    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def output(self) -> str:
        """stdout and stderr together (tools print their version on either)."""
        return (self.stdout + "\n" + self.stderr).strip()


class Host(ABC):
    """Where checks look. `label` names it in the report's host column."""

    label: str
    local: bool

    def __init__(self) -> None:
        self._facts: dict[str, asyncio.Future[Any]] = {}

    async def connect(self) -> None:  # noqa: B027 - most hosts need no session
        """Open what `run` and `open_connection` need; raise `CheckError` when it fails."""

    async def close(self) -> None:  # noqa: B027
        """Release what `connect` opened."""

    @abstractmethod
    async def run(self, argv: Sequence[str]) -> CommandResult:
        """Run a command (no shell, no input) and wait for it. Cancelling kills it."""

    @abstractmethod
    async def open_connection(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A TCP connection to `host:port` made from this host; raises `OSError`."""

    @abstractmethod
    def path(self, path: str) -> str:
        """Where a path of the manifest is on this host (relative ones have a base)."""

    async def fact(self, key: str, read: Callable[[], Awaitable[T]]) -> T:
        """`read()` once per host and key; every caller awaits the same answer. A caller
        that times out does not cancel the reading for the others."""
        future = self._facts.get(key)
        if future is None:
            future = asyncio.ensure_future(read())
            # Retrieved here too, so a failure nobody waited for is not logged as lost.
            future.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._facts[key] = future
        result: T = await asyncio.shield(future)
        return result


class LocalHost(Host):
    """The machine shipway runs on. Relative paths start at the manifest's folder."""

    local = True

    def __init__(
        self, base_dir: Path, *, env: Mapping[str, str] | None = None, label: str = "local"
    ) -> None:
        super().__init__()
        self.base_dir = base_dir
        self.env = env
        self.label = label

    def path(self, path: str) -> str:
        return str(self.base_dir / path)

    async def run(self, argv: Sequence[str]) -> CommandResult:
        env = dict(os.environ if self.env is None else self.env)
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # so a timeout kills what it started, too
            )
        except FileNotFoundError:
            return CommandResult(NOT_FOUND, "", f"{argv[0]}: command not found")
        except PermissionError:
            return CommandResult(126, "", f"{argv[0]}: permission denied")
        try:
            stdout, stderr = await process.communicate()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await asyncio.shield(process.wait())
            raise
        assert process.returncode is not None
        return CommandResult(
            process.returncode,
            stdout.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace"),
        )

    async def open_connection(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if _is_ip(host):
            return await asyncio.open_connection(host, port)
        # Resolved here rather than by asyncio, whose resolver thread would outlive a timeout.
        infos = await in_daemon_thread(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        error: OSError = OSError(f"no address for {host}")
        for _, _, _, _, address in infos:
            try:
                return await asyncio.open_connection(str(address[0]), int(address[1]))
            except OSError as e:
                error = e
        raise error


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
