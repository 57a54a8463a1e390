"""The notes web service: the Starlette application and the process entry point.

Run it from `examples/notes/app`:

    python -m notes.app --port 8000 [--host 127.0.0.1]

Environment (flags win over variables):

- `PORT`, `HOST`: where to listen when `--port` / `--host` are absent (8000, 127.0.0.1).
- `DATABASE_URL`: `sqlite:///relative/notes.db`, `sqlite:////absolute/notes.db` or
  `postgresql://user@host:5432/db` (psycopg 3). Default `sqlite:///./notes.db`, under
  the working directory. The `notes` table is created at start when missing; when the
  database cannot be reached at start the process exits with status 3 (uvicorn's
  start-up failure), because a release that cannot serve should fail visibly.
- `NOTES_VERSION`: the release's version, shown by `/health` and on the page (default
  "1"); deploy "a changed version" by changing it.
- `FAIL_HEALTH=1`: `/health` always answers 503 while everything else works, for tests
  of a release whose health check never passes.
- `CRASH_ON_START=1`: the process exits with status 1 immediately, before listening,
  for crash-loop tests.
- `ERROR_RATE=0.1`: that fraction of requests (every path but `/health` and
  `/metrics`) answers 500, spread evenly, for tests of monitoring (alerts, post-release
  analysis); `ERROR_RATE_FILE=PATH` reads the rate from a file, re-read every second, so
  it can change while the process runs. Default: off. See `notes/faults.py`.

On SIGTERM (or SIGINT) the server stops accepting connections, lets requests in flight
finish and exits with status 0. After GRACEFUL_SHUTDOWN_SECONDS uvicorn cancels what is
left; a database call already running still completes, bounded by the store's timeouts.
Bad flags or settings exit with status 2 and a one-line reason. Every request is logged
as one JSON line on stdout (method, path, route, status, duration_ms).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from types import FrameType

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from notes.api import NotesApi, error_response
from notes.faults import ErrorRate, FaultMiddleware
from notes.logs import configure_logging, log_request
from notes.metrics import Metrics
from notes.observation import ObservationMiddleware
from notes.pages import NotesPages
from notes.settings import Settings, env_flag, load_settings
from notes.store import NoteStore, StoreError, open_store

GRACEFUL_SHUTDOWN_SECONDS = 10
STARTUP_FAILURE = 3  # the status uvicorn itself uses
log = logging.getLogger("notes")


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    return error_response(exc.status_code, exc.detail, headers=exc.headers)


async def _store_error(request: Request, exc: Exception) -> Response:
    log.error("database error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "the database did not answer")


def create_app(settings: Settings, store: NoteStore) -> Starlette:
    """The ASGI application; the table is created when the application starts."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await run_in_threadpool(store.create_schema)
        log.info("notes ready", extra={"version": settings.version})
        yield

    pages, api = NotesPages(store, settings), NotesApi(store, settings, metrics)
    middleware = [Middleware(ObservationMiddleware, observers=[metrics.observe, log_request])]
    if settings.error_rate or settings.error_rate_file:
        # Inside the observation, so the injected failures are counted and logged.
        rate = ErrorRate(settings.error_rate, settings.error_rate_file)
        middleware.append(Middleware(FaultMiddleware, rate=rate))
    return Starlette(
        routes=[*pages.routes(), *api.routes()],
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, StoreError: _store_error},
        lifespan=lifespan,
    )


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    # NOTE: uvicorn shuts down gracefully on SIGTERM, then restores the previous handler
    # and raises the signal again. With the default handler the process would die "killed
    # by SIGTERM" even after a clean stop; a supervisor should see exit status 0.
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until SIGTERM; see the module docstring for flags and environment."""
    configure_logging()
    if env_flag(os.environ, "CRASH_ON_START"):
        log.error("CRASH_ON_START is set: exiting with status 1")
        sys.exit(1)
    settings = load_settings(argv)
    try:
        store = open_store(settings.database_url)
    except ValueError as exc:
        log.error("%s", exc)
        sys.exit(2)
    config = uvicorn.Config(
        create_app(settings, store),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,  # keep our JSON handler for uvicorn's records too
        access_log=False,  # replaced by notes.logs.log_request
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        # The lifespan failed (database unreachable). Recent uvicorn exits with 3 by
        # itself; older releases return normally, which would look like success.
        sys.exit(STARTUP_FAILURE)


if __name__ == "__main__":
    main()
