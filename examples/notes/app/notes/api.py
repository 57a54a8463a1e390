"""The JSON side of the service: the notes API, /health, /metrics and /openapi.json."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notes.metrics import Metrics
from notes.openapi import openapi_document
from notes.routing import method_route
from notes.settings import Settings
from notes.store import NoteStore, StoreError
from notes.validation import InvalidInput, list_limit, media_type, note_text, read_body

log = logging.getLogger(__name__)


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """The one shape of every JSON error: `{"error": "..."}`."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _new_note_text(body: bytes) -> str:
    """The text of a `POST /notes` body, or InvalidInput saying what is wrong with it."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("body must be a JSON object") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("body must be a JSON object")
    unknown = sorted(set(payload) - {"text"})
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    if "text" not in payload:
        raise InvalidInput("text is required")
    return note_text(payload["text"])


class NotesApi:
    """Endpoints of the JSON API; `routes()` hands them to the application."""

    def __init__(self, store: NoteStore, settings: Settings, metrics: Metrics) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics

    def routes(self) -> list[Route]:
        return [
            method_route("/health", {"GET": self.health}),
            method_route("/metrics", {"GET": self.prometheus}),
            method_route("/openapi.json", {"GET": self.openapi}),
            method_route("/notes", {"GET": self.list_notes, "POST": self.create_note}),
            method_route("/notes/{id:int}", {"GET": self.get_note, "DELETE": self.delete_note}),
        ]

    async def health(self, request: Request) -> Response:
        version = self.settings.version
        if self.settings.fail_health:
            body = {"status": "failing", "version": version, "reason": "FAIL_HEALTH is set"}
            return JSONResponse(body, status_code=503)
        try:
            await run_in_threadpool(self.store.ping)
        except StoreError as exc:
            log.warning("health check: database did not answer: %s", exc)
            body = {"status": "unavailable", "version": version, "reason": "database"}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "ok", "version": version})

    async def prometheus(self, request: Request) -> Response:
        try:
            count: int | None = await run_in_threadpool(self.store.count)
        except StoreError as exc:
            # The scrape still succeeds: request metrics matter most when the database is down.
            log.warning("metrics: could not count notes: %s", exc)
            count = None
        return Response(self.metrics.render(count), media_type=self.metrics.content_type)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())

    async def list_notes(self, request: Request) -> Response:
        try:
            limit = list_limit(request.query_params.get("limit"))
        except InvalidInput as exc:
            return error_response(400, str(exc))
        notes = await run_in_threadpool(self.store.recent, limit)
        return JSONResponse([note.to_json() for note in notes])

    async def create_note(self, request: Request) -> Response:
        if media_type(request) != "application/json":
            return error_response(415, "send the note as application/json")
        try:
            text = _new_note_text(await read_body(request))
        except InvalidInput as exc:
            return error_response(400, str(exc))
        note = await run_in_threadpool(self.store.add, text)
        location = {"Location": f"/notes/{note.id}"}
        return JSONResponse(note.to_json(), status_code=201, headers=location)

    async def get_note(self, request: Request) -> Response:
        note = await run_in_threadpool(self.store.get, int(request.path_params["id"]))
        if note is None:
            return error_response(404, "no such note")
        return JSONResponse(note.to_json())

    async def delete_note(self, request: Request) -> Response:
        if not await run_in_threadpool(self.store.delete, int(request.path_params["id"])):
            return error_response(404, "no such note")
        return Response(status_code=204)
