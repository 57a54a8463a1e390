"""A small real HTTP application for the tester's tests, served by uvicorn on 127.0.0.1
in a thread: endpoints that are slow, that echo credentials, that become consistent
after a few calls, that break their own schema, and pages for the browser."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

PAGE = """<!doctype html><html><head><title>shop</title></head><body>
<h1>shop</h1>
<form method="get" action="/done">
<label for="size">Size</label>
<select id="size" name="size"><option value="s">small</option><option value="l">large</option>
</select>
<input id="who" name="who">
<button type="submit">Order</button>
</form></body></html>"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestApp:
    """The application and its state; `serve()` starts it, `close()` stops it."""

    __test__ = False

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.stall_until = 0.0
        #: How long `/lag` takes, changed by a test between two runs of the same load.
        self.lag_ms = 0.0
        self.app = Starlette(
            routes=[
                Route("/health", self.health),
                Route("/slow", self.slow),
                Route("/lag", self.lag),
                Route("/private", self.private),
                Route("/echo", self.echo, methods=["GET", "POST"]),
                Route("/eventually/{key}", self.eventually),
                Route("/broken", self.broken),
                Route("/items", self.items),
                Route("/page", self.page),
                Route("/done", self.done),
                Route("/stall", self.stall),
                Route("/fail", self.fail),
            ]
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def serve(self) -> TestApp:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the test app did not start"
            time.sleep(0.02)
        return self

    def close(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def slow(self, request: Request) -> Response:
        await asyncio.sleep(float(request.query_params.get("ms", "300")) / 1000)
        return JSONResponse({"slept": True})

    #: The bearer token `/private` accepts; anything else gets 401.
    token = "private-token"

    async def private(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse({"id": 7})

    async def lag(self, request: Request) -> Response:
        await asyncio.sleep(self.lag_ms / 1000)
        return JSONResponse({"lag_ms": self.lag_ms})

    async def echo(self, request: Request) -> Response:
        body = (await request.body()).decode()
        return JSONResponse(
            {
                "authorization": request.headers.get("authorization"),
                "query": dict(request.query_params),
                "content_type": request.headers.get("content-type"),
                "body": body,
            }
        )

    async def eventually(self, request: Request) -> Response:
        key = request.path_params["key"]
        self.calls[key] += 1
        if self.calls[key] < 3:
            return JSONResponse({"ready": False}, status_code=404)
        return JSONResponse({"ready": True, "calls": self.calls[key]})

    async def broken(self, request: Request) -> Response:
        return JSONResponse({"id": "not-a-number", "text": "hi"})

    async def items(self, request: Request) -> Response:
        data: dict[str, Any] = {"items": [{"id": 1, "tags": ["a"]}, {"id": 2, "tags": []}]}
        return JSONResponse(data, headers={"X-Total": "2"})

    async def page(self, request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def done(self, request: Request) -> Response:
        size = request.query_params.get("size", "")
        who = request.query_params.get("who", "")
        return HTMLResponse(f"<p id='result'>ordered size {size} for {who}</p>")

    async def stall(self, request: Request) -> Response:
        wait = self.stall_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return PlainTextResponse("ok")

    async def fail(self, request: Request) -> Response:
        return PlainTextResponse("no", status_code=503)
