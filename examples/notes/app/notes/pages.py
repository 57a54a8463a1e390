"""The HTML page at `/`: the newest notes and a plain form that adds one.

No JavaScript: the form posts `application/x-www-form-urlencoded` to `/`, which answers
303 See Other back to `/` (post/redirect/get), so reloading never posts twice. All user
text goes through `html.escape`.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from notes.routing import method_route
from notes.settings import Settings
from notes.store import Note, NoteStore
from notes.validation import MAX_TEXT_LENGTH, InvalidInput, media_type, note_text, read_body

PAGE_SIZE = 50
FORM_TYPE = "application/x-www-form-urlencoded"
# The page needs nothing from elsewhere; the policy makes an escaping slip inert.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "ul{list-style:none;padding:0}li{border-bottom:1px solid #ddd;padding:.5rem 0}"
    "p.text{white-space:pre-wrap;margin:0}time,footer{color:#666;font-size:.8rem}"
    ".error{color:#b00}input{width:75%}"
)


def _note_item(note: Note) -> str:
    stamp = note.created_at.isoformat()
    return (
        f'<li class="note" data-id="{note.id}"><p class="text">{escape(note.text)}</p>'
        f'<time datetime="{stamp}">{escape(stamp)}</time></li>'
    )


def render_page(version: str, notes: list[Note], error: str = "") -> str:
    """The whole page; `error` explains why the last submission was refused."""
    items = "".join(_note_item(note) for note in notes)
    listing = f'<ul id="notes">{items}</ul>' if notes else '<p id="empty">No notes yet.</p>'
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>notes</title><style>{STYLE}</style></head><body>"
        "<h1>notes</h1>"
        f'<form method="post" action="/">{problem}'
        '<label for="text">New note</label> '
        f'<input id="text" name="text" required maxlength="{MAX_TEXT_LENGTH}" autofocus> '
        '<button type="submit">Add</button></form>'
        f"{listing}"
        f'<footer>version <span id="version">{escape(version)}</span></footer>'
        "</body></html>"
    )


def _form_text(body: bytes) -> str:
    """The `text` field of a urlencoded form body, or InvalidInput."""
    try:
        # Browsers percent-encode everything, but curl -d sends raw UTF-8: accept both.
        fields = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=10, errors="strict"
        )
    except ValueError as exc:  # UnicodeDecodeError included
        raise InvalidInput("the form could not be read") from exc
    return note_text(fields.get("text", [""])[0])


class NotesPages:
    """Endpoints of the HTML page; `routes()` hands them to the application."""

    def __init__(self, store: NoteStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def routes(self) -> list[Route]:
        return [method_route("/", {"GET": self.show, "POST": self.submit})]

    async def _page(self, status: int = 200, error: str = "") -> Response:
        notes = await run_in_threadpool(self.store.recent, PAGE_SIZE)
        html = render_page(self.settings.version, notes, error=error)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    async def show(self, request: Request) -> Response:
        return await self._page()

    async def submit(self, request: Request) -> Response:
        if media_type(request) != FORM_TYPE:
            return await self._page(415, error=f"the form must be sent as {FORM_TYPE}")
        body = await read_body(request)
        try:
            text = _form_text(body)
        except InvalidInput as exc:
            return await self._page(400, error=str(exc))
        await run_in_threadpool(self.store.add, text)
        return RedirectResponse("/", status_code=303)
