"""One ASGI middleware that times every HTTP request and tells observers how it went.

Metrics and access logs want the same facts (method, route, status, duration); measuring
them once keeps the two in agreement. The route is the template that matched
(`/notes/{id}`), never the raw path, so that label values stay a small fixed set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "<unmatched>"


@dataclass(frozen=True)
class RequestRecord:
    """What happened to one HTTP request."""

    method: str
    path: str
    route: str
    status: int
    duration_seconds: float


Observer = Callable[[RequestRecord], None]


def _matched_route(scope: Scope) -> object:
    # Recent Starlette records the matched route in the (shared) scope dict; older
    # releases only leave the router there, so the match is repeated (cheap: few routes).
    if "route" in scope:
        return scope["route"]
    for route in getattr(scope.get("router"), "routes", ()):
        if isinstance(route, BaseRoute) and route.matches(scope)[0] is not Match.NONE:
            return route
    return None


def _route_template(scope: Scope) -> str:
    # path_format is the template without convertors: "/notes/{id}", not "{id:int}".
    template = getattr(_matched_route(scope), "path_format", None)
    return template if isinstance(template, str) else UNMATCHED_ROUTE


class ObservationMiddleware:
    """Calls every observer once per HTTP request, after the response has been sent."""

    def __init__(self, app: ASGIApp, observers: Sequence[Observer]) -> None:
        self.app = app
        self.observers = tuple(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # An exception escaping the app becomes a 500 in Starlette's outermost middleware.
        status = 500

        async def send_and_capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_capture)
        finally:
            record = RequestRecord(
                method=scope["method"],
                path=scope["path"],
                route=_route_template(scope),
                status=status,
                duration_seconds=time.perf_counter() - started,
            )
            for observe in self.observers:
                observe(record)
