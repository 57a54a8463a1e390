"""A small HTTP/1.1 GET over a `Host`'s connection, so the request leaves from that host.

Only what a preflight check needs: one request, `Connection: close`, status, headers and a
body capped at `MAX_BODY`; no redirects are followed (the status is what is checked).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from shipway import __version__
from shipway.validator.hosts import Host
from shipway.validator.interface import CheckError
from shipway.validator.tls import client_context

MAX_BODY = 1 << 20


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    seconds: float


async def http_get(host: Host, url: str, *, verify: bool = True, body: bool = True) -> HttpResponse:
    """GET `url` from `host`. Raises `CheckError` for protocol errors, `ssl.SSLError` and
    `OSError` for TLS and connection failures."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    name = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.perf_counter()
    reader, writer = await host.open_connection(name, port)
    try:
        if secure:
            await writer.start_tls(client_context(verify=verify), server_hostname=name)
        netloc = parts.netloc.rpartition("@")[2]
        head = f"GET {target} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: shipway/{__version__}\r\n"
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            head += f"Authorization: Basic {base64.b64encode(credentials.encode()).decode()}\r\n"
        writer.write((head + "Accept: */*\r\nConnection: close\r\n\r\n").encode("latin-1"))
        await writer.drain()
        status_line = await reader.readline()
        fields = status_line.split(None, 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
            raise CheckError(f"not an HTTP answer: {status_line[:60]!r}")
        headers = await _headers(reader)
        content = await _body(reader, headers) if body else b""
        return HttpResponse(int(fields[1]), content, time.perf_counter() - started)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while len(headers) < 200:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    raise CheckError("too many response headers")


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _chunked(reader)
    length = headers.get("content-length", "")
    if length.isdigit():
        try:
            return await reader.readexactly(min(int(length), MAX_BODY))
        except asyncio.IncompleteReadError as e:
            return e.partial
    content = bytearray()
    while len(content) < MAX_BODY and (data := await reader.read(MAX_BODY - len(content))):
        content += data
    return bytes(content)


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    content = bytearray()
    while len(content) < MAX_BODY:
        size_line = (await reader.readline()).split(b";")[0].strip()
        try:
            length = int(size_line or b"0", 16)
        except ValueError:
            raise CheckError(f"bad chunk size {size_line[:20]!r} in the response") from None
        if length == 0:
            break
        try:
            content += await reader.readexactly(length)
        except asyncio.IncompleteReadError as e:
            content += e.partial
            break
        await reader.readline()
    return bytes(content[:MAX_BODY])
