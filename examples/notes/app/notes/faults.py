"""Deliberate misbehaviour for tests of monitoring: a fraction of requests answer 500.

`ERROR_RATE=0.1` makes one request in ten fail, every path except `/health` and
`/metrics` (the release must stay healthy and observable while it misbehaves). The
failures are spread evenly, not drawn at random: after n requests, exactly
floor(n * rate) have failed (each request adds `rate` to a credit, and one whose credit
reaches 1 fails), so a test sees the same error ratio in every window.
`ERROR_RATE_FILE=PATH` reads the rate from a file instead (re-read at most once a second,
a missing or empty file meaning 0), so a test can raise and lower it while the process
runs. Both unset (the default): nothing is injected.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SPARED_PATHS = frozenset({"/health", "/metrics"})
FILE_REFRESH_SECONDS = 1.0


def error_rate_setting(env: Mapping[str, str]) -> float:
    """ERROR_RATE as a fraction in [0, 1]; ValueError for anything else."""
    text = env.get("ERROR_RATE", "").strip()
    return _fraction(text, "ERROR_RATE") if text else 0.0


def _fraction(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number between 0 and 1, not {text!r}") from None
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"{name} must be a number between 0 and 1, not {text!r}")
    return value


class ErrorRate:
    """The current rate: fixed, or read from a file now and then."""

    def __init__(self, rate: float, path: str | None) -> None:
        self._rate = rate
        self._path = Path(path) if path else None
        self._read_at = -math.inf

    def current(self) -> float:
        if self._path is None:
            return self._rate
        now = time.monotonic()
        if now - self._read_at >= FILE_REFRESH_SECONDS:
            self._read_at = now
            try:
                text = self._path.read_text().strip()
                self._rate = _fraction(text, "ERROR_RATE_FILE") if text else 0.0
            except (OSError, ValueError):
                self._rate = 0.0
        return self._rate


class FaultMiddleware:
    """Answers 500 to an even share of the requests, as `ErrorRate` says."""

    def __init__(self, app: ASGIApp, rate: ErrorRate) -> None:
        self.app = app
        self.rate = rate
        self._credit = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in SPARED_PATHS:
            await self.app(scope, receive, send)
            return
        # NOTE: a credit rather than counts of served and failed requests, so that a rate
        # raised through ERROR_RATE_FILE does not fail a burst of requests to catch up.
        self._credit += self.rate.current()
        if self._credit >= 1.0 - 1e-9:
            self._credit -= 1.0
            response = JSONResponse({"error": "injected failure (ERROR_RATE)"}, status_code=500)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
