"""HTTP/1.1 on the wire for the load generator: requests built once as bytes, responses
parsed incrementally (Content-Length, chunked, or delimited by close). Just enough HTTP
to measure a server, with no per-request objects beyond the parser's buffer."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


class ProtocolError(Exception):
    """The server's bytes are not an HTTP/1.1 response."""


@dataclass(frozen=True)
class WireRequest:
    """One request, serialized once and sent many times."""

    label: str
    data: bytes
    head: bool


def wire_request(
    method: str, url: str, headers: dict[str, str], body: bytes | None, label: str
) -> WireRequest:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lowered = {name.lower() for name in headers}
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if "user-agent" not in lowered:
        lines.append("User-Agent: shipway-load")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    return WireRequest(label=label, data=data, head=method == "HEAD")


class ResponseParser:
    """Feeds on bytes; `feed` returns the status once a whole response has arrived."""

    __slots__ = ("_buffer", "_chunked", "_head", "_remaining", "_status", "keep_alive")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._status = 0
        self._remaining = -1  # body bytes still due; -1: headers not read yet
        self._chunked = False
        self._head = False
        self.keep_alive = True

    def expect(self, head: bool) -> None:
        """Start reading the response to a new request."""
        self._head = head
        self._status = 0
        self._remaining = -1
        self._chunked = False

    def feed(self, data: bytes) -> int:
        """Add bytes; the status when the response is complete, else 0."""
        buffer = self._buffer
        buffer += data
        if self._remaining < 0:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > 65536:
                    raise ProtocolError("response headers larger than 64 KiB")
                return 0
            self._headers(bytes(buffer[:end]))
            del buffer[: end + 4]
        if self._chunked:
            return self._chunks()
        if self._remaining == _UNTIL_CLOSE:
            buffer.clear()
            return 0
        if len(buffer) < self._remaining:
            return 0
        if len(buffer) > self._remaining:
            raise ProtocolError("more bytes than the response announced (pipelining?)")
        buffer.clear()
        return self._status

    def close_delimited(self) -> int:
        """The status of a response whose body ends when the connection closes, or 0."""
        return self._status if self._remaining == _UNTIL_CLOSE else 0

    def _headers(self, head: bytes) -> None:
        if not head.startswith(b"HTTP/1."):
            raise ProtocolError(f"not an HTTP/1.x response: {head[:20]!r}")
        try:
            self._status = int(head[9:12])
        except ValueError as exc:
            raise ProtocolError(f"bad status line {head[:40]!r}") from exc
        lowered = head.lower()
        self.keep_alive = b"\r\nconnection: close" not in lowered and not head.startswith(
            b"HTTP/1.0"
        )
        if self._head or self._status in (204, 304) or 100 <= self._status < 200:
            self._remaining = 0
            return
        if b"\r\ntransfer-encoding: chunked" in lowered:
            self._chunked = True
            self._remaining = 0
            return
        start = lowered.find(b"\r\ncontent-length:")
        if start < 0:
            self._remaining = _UNTIL_CLOSE
            self.keep_alive = False
            return
        end = lowered.find(b"\r\n", start + 2)
        self._remaining = int(lowered[start + 17 : end if end > 0 else None])

    def _chunks(self) -> int:
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return 0
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            if size == 0:
                trailer_end = buffer.find(b"\r\n\r\n", line_end)
                if trailer_end < 0 and buffer[line_end : line_end + 4] != b"\r\n\r\n":
                    return 0
                buffer.clear()
                return self._status
            if len(buffer) < line_end + 2 + size + 2:
                return 0
            del buffer[: line_end + 2 + size + 2]


_UNTIL_CLOSE = 1 << 62
