"""The JSON API of the notes example, over HTTP against a running process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.examples.contract import check_contract
from tests.examples.notes_process import NotesProcess


@pytest.fixture
def client(notes_app: NotesProcess) -> Iterator[httpx.Client]:
    with notes_app.client() as client:
        yield client


def create(client: httpx.Client, text: str) -> dict[str, Any]:
    response = client.post("/notes", json={"text": text})
    assert response.status_code == 201, response.text
    check_contract(response, "/notes")
    return dict(response.json())


def test_create_then_get(client: httpx.Client) -> None:
    note = create(client, "buy milk")
    assert note["text"] == "buy milk"
    assert note["created_at"].endswith("+00:00")

    fetched = client.get(f"/notes/{note['id']}")

    assert fetched.status_code == 200
    assert fetched.json() == note
    check_contract(fetched, "/notes/{id}")


def test_create_answers_with_the_location_of_the_note(client: httpx.Client) -> None:
    response = client.post("/notes", json={"text": "where am I"})

    assert response.headers["location"] == f"/notes/{response.json()['id']}"


def test_unicode_text_round_trips(client: httpx.Client) -> None:
    text = "naïve café ✓ 日本語 🎉\nsecond line"
    note = create(client, text)

    assert client.get(f"/notes/{note['id']}").json()["text"] == text


def test_text_of_exactly_the_maximum_length_is_accepted(client: httpx.Client) -> None:
    note = create(client, "x" * 10_000)

    assert len(str(note["text"])) == 10_000


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "text is required"),
        ({"text": ""}, "text must not be empty"),
        ({"text": "   \n\t"}, "text must not be empty"),
        ({"text": 42}, "text must be a string"),
        ({"text": None}, "text must be a string"),
        ({"text": ["a"]}, "text must be a string"),
        ({"text": "x" * 10_001}, "at most 10000 characters"),
        ({"text": "nul\u0000byte"}, "NUL"),
        ({"text": "ok", "colour": "red"}, "unknown field(s): colour"),
        (["text"], "body must be a JSON object"),
        ("just a string", "body must be a JSON object"),
    ],
)
def test_create_rejects_bad_notes(client: httpx.Client, payload: object, message: str) -> None:
    response = client.post("/notes", json=payload)

    assert response.status_code == 400
    assert message in response.json()["error"]
    check_contract(response, "/notes")


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"\xff\xfe\x00garbage", b"[" * 5000 + b"]" * 5000, b'{"text": "\\ud800"}'],
)
def test_create_rejects_bodies_that_are_not_usable_json(client: httpx.Client, body: bytes) -> None:
    response = client.post("/notes", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert "error" in response.json()
    check_contract(response, "/notes")


def test_create_requires_json(client: httpx.Client) -> None:
    response = client.post("/notes", data={"text": "a form"})

    assert response.status_code == 415
    check_contract(response, "/notes")


def test_create_refuses_a_huge_body(client: httpx.Client) -> None:
    response = client.post("/notes", json={"text": "x" * 1_000_000})

    assert response.status_code == 413
    check_contract(response, "/notes")


def test_list_is_newest_first_and_limited(client: httpx.Client) -> None:
    created = [create(client, f"list item {i}") for i in range(3)]

    response = client.get("/notes", params={"limit": 2})

    assert response.status_code == 200
    check_contract(response, "/notes")
    assert response.json() == [created[2], created[1]]


def test_list_defaults_to_twenty(client: httpx.Client) -> None:
    for i in range(21):
        create(client, f"bulk {i}")

    notes = client.get("/notes").json()

    assert len(notes) == 20
    assert notes[0]["text"] == "bulk 20"


def test_list_accepts_the_maximum_limit(client: httpx.Client) -> None:
    response = client.get("/notes", params={"limit": 100})

    assert response.status_code == 200
    check_contract(response, "/notes")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5", "", "²", "9" * 50])
def test_list_rejects_a_bad_limit(client: httpx.Client, limit: str) -> None:
    response = client.get("/notes", params={"limit": limit})

    assert response.status_code == 400
    assert "limit" in response.json()["error"]
    check_contract(response, "/notes")


def test_delete_then_it_is_gone(client: httpx.Client) -> None:
    note = create(client, "short-lived")

    deleted = client.delete(f"/notes/{note['id']}")
    assert deleted.status_code == 204
    check_contract(deleted, "/notes/{id}")

    again = client.delete(f"/notes/{note['id']}")
    assert again.status_code == 404
    check_contract(again, "/notes/{id}")
    gone = client.get(f"/notes/{note['id']}")
    assert gone.status_code == 404
    assert gone.json() == {"error": "no such note"}
    check_contract(gone, "/notes/{id}")


@pytest.mark.parametrize("note_id", ["0", "987654321", str(2**63), "9" * 40])
def test_unknown_ids_are_404(client: httpx.Client, note_id: str) -> None:
    for response in (client.get(f"/notes/{note_id}"), client.delete(f"/notes/{note_id}")):
        assert response.status_code == 404
        check_contract(response, "/notes/{id}")


@pytest.mark.parametrize("path", ["/notes/abc", "/notes/-1", "/nowhere"])
def test_unknown_paths_are_json_404(client: httpx.Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


def test_wrong_method_lists_every_allowed_one(client: httpx.Client) -> None:
    response = client.put("/notes")

    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert "error" in response.json()
