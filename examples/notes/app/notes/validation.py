"""Reading and checking what clients send: request bodies, note text, list limits."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request

MAX_TEXT_LENGTH = 10_000
# A note of 10,000 characters is at most ~60 kB as JSON (\uXXXX escapes); anything far
# larger is refused before it is buffered.
MAX_BODY_BYTES = 256 * 1024
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class InvalidInput(ValueError):
    """The client sent something we will not store; the message says what, for the client."""


def small_int(text: str, max_digits: int) -> int | None:
    """`text` as a non-negative integer of at most `max_digits` ASCII digits, else None."""
    # isdigit() alone accepts characters such as "²" that int() rejects.
    if text.isascii() and text.isdigit() and len(text) <= max_digits:
        return int(text)
    return None


def media_type(request: Request) -> str:
    """The request's content type without parameters, lower case ("" when absent)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request) -> bytes:
    """The request body, or HTTP 413 once it grows past MAX_BODY_BYTES."""
    declared = small_int(request.headers.get("content-length", ""), max_digits=18)
    if declared is not None and declared > MAX_BODY_BYTES:
        raise HTTPException(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(413, f"request body is larger than {MAX_BODY_BYTES} bytes")
    return bytes(body)


def note_text(value: object) -> str:
    """`value` if it is acceptable as a note's text, else InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput("text must be a string")
    if not value.strip():
        raise InvalidInput("text must not be empty")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"text must be at most {MAX_TEXT_LENGTH} characters")
    # JSON can smuggle in what neither database stores: NUL (PostgreSQL text) and lone
    # surrogates such as "\ud800" (no UTF-8 form). Refused here as the client's error.
    if "\x00" in value:
        raise InvalidInput("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput("text must be valid Unicode (no lone surrogates)") from exc
    return value


def list_limit(raw: str | None) -> int:
    """The `?limit=` of a listing: DEFAULT_LIMIT when absent, else 1..MAX_LIMIT."""
    if raw is None:
        return DEFAULT_LIMIT
    limit = small_int(raw, max_digits=3)
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit
