"""What operators and shipway see of the notes example: health, metrics, logs, OpenAPI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from tests.examples.contract import DOCUMENT, check_contract
from tests.examples.notes_process import APP_DIR, SHARED_VERSION, NotesProcess

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def client(notes_app: NotesProcess) -> Iterator[httpx.Client]:
    with notes_app.client() as client:
        yield client


def scrape(client: httpx.Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    check_contract(response, "/metrics")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_health_reports_ok_and_the_version(client: httpx.Client) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": SHARED_VERSION}
    check_contract(response, "/health")


def test_metrics_count_requests_by_route_template(client: httpx.Client) -> None:
    before = scrape(client)
    note_id = client.post("/notes", json={"text": "counted"}).json()["id"]
    client.get(f"/notes/{note_id}")
    client.get("/notes/987654")
    client.get("/notes/987655")
    client.get("/no/such/route")

    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    by_id = {"method": "GET", "path": "/notes/{id}"}
    assert delta("http_requests_total", **by_id, status="200") == 1
    assert delta("http_requests_total", **by_id, status="404") == 2
    assert delta("http_requests_total", method="POST", path="/notes", status="201") == 1
    assert delta("http_requests_total", method="GET", path="<unmatched>", status="404") == 1
    assert delta("http_request_duration_seconds_count", **by_id) == 3
    assert delta("http_request_duration_seconds_sum", **by_id) > 0
    assert delta("notes_total") == 1
    paths = {dict(labels).get("path") for _, labels in after}
    assert not {"/notes/987654", f"/notes/{note_id}", "/no/such/route"} & paths


def test_notes_total_is_the_number_of_notes(client: httpx.Client) -> None:
    count_before = value(scrape(client), "notes_total")
    note_id = client.post("/notes", json={"text": "to delete"}).json()["id"]
    assert value(scrape(client), "notes_total") == count_before + 1

    client.delete(f"/notes/{note_id}")

    assert value(scrape(client), "notes_total") == count_before


def wait_for_log(app: NotesProcess, **fields: Any) -> dict[str, Any]:
    # The line is written after the response is sent, so it may trail it a little.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in app.log_lines():
            if all(line.get(key) == wanted for key, wanted in fields.items()):
                return line
        time.sleep(0.05)
    raise AssertionError(f"no log line with {fields}:\n{app.output()}")


def test_every_request_is_one_json_log_line(notes_app: NotesProcess, client: httpx.Client) -> None:
    client.get("/notes/424242")
    client.post("/notes", json={"text": "logged"})

    missing = wait_for_log(notes_app, method="GET", path="/notes/424242")
    created = wait_for_log(notes_app, method="POST", path="/notes", status=201)

    assert missing["status"] == 404
    assert missing["route"] == "/notes/{id}"
    assert isinstance(missing["duration_ms"], float)
    assert created["duration_ms"] >= 0
    assert all(isinstance(line, dict) for line in notes_app.log_lines())  # all stdout is JSON


def test_openapi_document_is_valid_and_served_as_in_the_file(client: httpx.Client) -> None:
    served = client.get("/openapi.json")

    assert served.status_code == 200
    assert served.json() == json.loads((APP_DIR / "openapi.json").read_text()) == DOCUMENT
    validate(served.json())


def test_openapi_document_covers_the_api_and_operations() -> None:
    assert DOCUMENT["openapi"].startswith("3.1")
    assert set(DOCUMENT["paths"]) == {"/health", "/metrics", "/notes", "/notes/{id}"}
    operations = {(method, path) for path, item in DOCUMENT["paths"].items() for method in item} - {
        ("parameters", "/notes/{id}")
    }
    assert operations == {
        ("get", "/health"),
        ("get", "/metrics"),
        ("get", "/notes"),
        ("post", "/notes"),
        ("get", "/notes/{id}"),
        ("delete", "/notes/{id}"),
    }
    create = DOCUMENT["paths"]["/notes"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewNote"
    }
