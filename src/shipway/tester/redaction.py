"""Keeping secret values out of everything the tester writes.

Every value read from a secret is registered here the moment it is resolved; every text
that leaves the tester (case messages, JUnit, JSON, artifacts) goes through `redact`.
Credential headers are masked whatever their value (DESIGN.md section 6).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

MASK = "***"
#: Headers whose values are credentials whether or not they came from a secret.
SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
#: Shorter values would mask ordinary text (a one-letter secret would eat every "a").
MIN_SECRET_LENGTH = 4


class Redactor:
    """The secret values seen so far in one run. Thread-safe: kinds run in threads."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if len(value) >= MIN_SECRET_LENGTH:
            with self._lock:
                self._values.add(value)

    def __bool__(self) -> bool:
        return bool(self._values)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers for a report: credentials masked, other values redacted."""
        return {
            name: MASK if name.lower() in SENSITIVE_HEADERS else self.redact(value)
            for name, value in headers.items()
        }
