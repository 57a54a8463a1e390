"""One route per path, whatever the methods, so that a 405 lists every allowed method.

Starlette answers 405 from the first route whose path matched, with only that route's
methods in `Allow`; two `Route("/notes", ...)` entries would advertise half the truth.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]


def method_route(path: str, handlers: dict[str, Endpoint]) -> Route:
    """A route for `path` that calls `handlers[method]` (GET also serves HEAD)."""

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return Route(path, dispatch, methods=list(handlers), name=path)
