"""`SshHost`: a host of the environment's `hosts:`, read over one asyncssh connection.

Nothing is installed there: checks run plain commands (`getconf`, `df`, `ss`, `stat`, ...),
and network checks open TCP connections from the host through the SSH connection
(direct-tcpip channels, as `ssh -W` does). Keys, known hosts and per-host settings come from
the OpenSSH client configuration (`~/.ssh/config` unless told otherwise); an unknown host
key is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncssh

from shipway.validator.hosts import CommandResult, Host, error_text
from shipway.validator.interface import CheckError

#: OpenSSH servers allow 10 sessions per connection by default (MaxSessions).
MAX_SESSIONS = 8
CONNECT_TIMEOUT = 10.0
_CHUNK = 65536


class SshHost(Host):
    """A host named by an `ssh://[user@]host[:port]` URL."""

    local = False

    def __init__(
        self,
        url: str,
        *,
        config: Sequence[Path] = (),
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        super().__init__()
        parts = urlsplit(url)
        if parts.scheme != "ssh" or not parts.hostname:
            raise ValueError(f"not an ssh:// URL: {url!r}")
        self.hostname = parts.hostname
        self.port = parts.port
        self.username = parts.username
        self.label = parts.netloc
        self.config = [str(path) for path in config]
        self.connect_timeout = connect_timeout
        self._connection: asyncssh.SSHClientConnection | None = None
        self._sessions = asyncio.Semaphore(MAX_SESSIONS)
        self._pumps: set[asyncio.Task[None]] = set()

    def path(self, path: str) -> str:
        return path  # relative to the login's home, where SSH commands start

    async def connect(self) -> None:
        options: dict[str, Any] = {}
        if self.port is not None:
            options["port"] = self.port
        if self.username is not None:
            options["username"] = self.username
        if self.config:
            options["config"] = self.config
        try:
            async with asyncio.timeout(self.connect_timeout):
                self._connection = await asyncssh.connect(self.hostname, **options)
        except TimeoutError as e:
            raise CheckError(
                f"no SSH answer within {self.connect_timeout:g}s",
                "check the address and that sshd runs and is reachable",
            ) from e
        except asyncssh.HostKeyNotVerifiable as e:
            raise CheckError(
                f"host key not trusted: {e.reason}",
                f"add the host's key to known_hosts (ssh-keyscan -p {self.port or 22} "
                f"{self.hostname}), after checking its fingerprint",
            ) from e
        except asyncssh.PermissionDenied as e:
            raise CheckError(
                f"SSH login refused: {e.reason}",
                "give the client key (IdentityFile in ~/.ssh/config) access to the host",
            ) from e
        except OSError as e:
            raise CheckError(
                f"SSH connection failed: {error_text(e)}",
                f"check that sshd listens on {self.hostname}:{self.port or 22}",
            ) from e
        except asyncssh.Error as e:
            raise CheckError(f"SSH connection failed: {e.reason}") from e

    async def close(self) -> None:
        for task in list(self._pumps):
            task.cancel()
        if self._connection is not None:
            self._connection.close()
            with contextlib.suppress(Exception):
                await self._connection.wait_closed()
            self._connection = None

    def _open(self) -> asyncssh.SSHClientConnection:
        if self._connection is None:
            raise CheckError("not connected to the host")
        return self._connection

    async def run(self, argv: Sequence[str]) -> CommandResult:
        connection = self._open()
        async with self._sessions:
            try:
                done = await connection.run(shlex.join(argv), check=False, stdin=asyncssh.DEVNULL)
            except asyncssh.Error as e:
                raise CheckError(f"command failed over SSH: {e.reason}") from e
        return CommandResult(
            done.exit_status if done.exit_status is not None else -1,
            _text(done.stdout),
            _text(done.stderr),
        )

    async def open_connection(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        connection = self._open()
        try:
            remote_reader, remote_writer = await connection.open_connection(host, port)
        except asyncssh.ChannelOpenError as e:
            # NOTE: sshd reports the remote connect's errno as text ("Connection refused").
            raise ConnectionError(f"{e.reason} (from {self.label})") from e
        # NOTE: the channel is bridged to a socket pair so that callers get asyncio streams
        # and can start TLS on them, exactly as on a local connection.
        near, far = socket.socketpair()
        near_reader, near_writer = await asyncio.open_connection(sock=near)
        self._pump(remote_reader, near_writer)
        self._pump(near_reader, remote_writer)
        return await asyncio.open_connection(sock=far)

    def _pump(self, source: Any, sink: Any) -> None:
        task = asyncio.ensure_future(_copy(source, sink))
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)


async def _copy(source: Any, sink: Any) -> None:
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (OSError, asyncssh.Error):
        pass
    finally:
        with contextlib.suppress(OSError, asyncssh.Error):
            sink.close()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)
