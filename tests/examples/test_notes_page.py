"""The HTML page of the notes example: the form flow a browser test will drive."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.examples.notes_process import SHARED_VERSION, NotesProcess

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def client(notes_app: NotesProcess) -> Iterator[httpx.Client]:
    with notes_app.client() as client:
        yield client


def test_page_has_the_form_a_browser_test_fills(client: httpx.Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert re.search(r'<form method="post" action="/">', page)
    assert re.search(r'<input id="text" name="text"[^>]*>', page)
    assert '<button type="submit">' in page
    assert f'<span id="version">{SHARED_VERSION}</span>' in page
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_form_post_redirects_and_the_note_is_on_the_page(client: httpx.Client) -> None:
    response = client.post("/", data={"text": "from the form"})

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    page = client.get(response.headers["location"]).text
    assert '<p class="text">from the form</p>' in page
    assert client.get("/notes", params={"limit": 1}).json()[0]["text"] == "from the form"


def test_newest_note_comes_first_on_the_page(client: httpx.Client) -> None:
    client.post("/", data={"text": "page older"})
    client.post("/", data={"text": "page newer"})

    page = client.get("/").text

    assert page.index("page newer") < page.index("page older")


def test_user_text_is_escaped(client: httpx.Client) -> None:
    hostile = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    client.post("/", data={"text": hostile})
    client.post("/notes", json={"text": "<b>bold via api</b>"})

    page = client.get("/").text

    assert hostile not in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img" in page
    assert "&lt;b&gt;bold via api&lt;/b&gt;" in page


def test_non_ascii_form_text_is_stored_as_typed(client: httpx.Client) -> None:
    # Browsers percent-encode UTF-8; curl --data sends it raw. Both must work.
    encoded = client.post("/", content=b"text=caf%C3%A9+%E2%9C%93", headers={"content-type": FORM})
    raw = client.post("/", content="text=thé vert".encode(), headers={"content-type": FORM})

    assert (encoded.status_code, raw.status_code) == (303, 303)
    texts = [note["text"] for note in client.get("/notes", params={"limit": 2}).json()]
    assert texts == ["thé vert", "café ✓"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"text=", "text must not be empty"),
        (b"text=+++", "text must not be empty"),
        (b"other=1", "text must not be empty"),
        (b"text=" + b"y" * 10_001, "at most 10000 characters"),
        (b"text=%FF%FE", "the form could not be read"),
        (b"text=a%00b", "NUL"),
    ],
)
def test_bad_form_shows_the_page_with_an_error(
    client: httpx.Client, body: bytes, message: str
) -> None:
    response = client.post("/", content=body, headers={"content-type": FORM})

    assert response.status_code == 400
    assert '<p class="error" role="alert">' in response.text
    assert message in response.text
    assert '<input id="text" name="text"' in response.text


def test_form_must_be_urlencoded(client: httpx.Client) -> None:
    response = client.post("/", json={"text": "json to the page"})

    assert response.status_code == 415
    assert FORM in response.text


def test_head_of_the_page(client: httpx.Client) -> None:
    response = client.head("/")

    assert response.status_code == 200
    assert response.content == b""
