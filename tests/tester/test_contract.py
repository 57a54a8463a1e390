"""The contract kind: schemathesis against the example's OpenAPI document, and against a
service that breaks its own document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.examples.notes_process import NotesProcess
from tests.tester.apps import TestApp
from tests.tester.conftest import run


def test_the_example_honours_its_openapi_document(notes: NotesProcess, tmp_path: Path) -> None:
    report = run(
        "tests:\n  contract:\n    openapi: app/openapi.json\n    max_examples: 8\n"
        "    methods: [GET, POST, DELETE]\n",
        notes.base_url,
        tmp_path,
    )
    assert report.passed, [case.to_dict() for case in report.failures]
    names = {case.name for case in report.cases}
    assert {"GET /health", "POST /notes", "GET /notes/{id}", "DELETE /notes/{id}"} <= names
    sent = {case.name: int(case.properties["requests"]) for case in report.cases}
    assert sent["POST /notes"] >= 2
    assert all(count <= 8 for count in sent.values())


BROKEN_DOC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/broken": {
            "get": {
                "responses": {
                    "200": {
                        "description": "a note",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id"],
                                    "properties": {"id": {"type": "integer"}},
                                }
                            }
                        },
                    }
                }
            }
        },
        "/fail": {"get": {"responses": {"200": {"description": "fine"}}}},
        "/health": {"get": {"responses": {"200": {"description": "fine"}}}},
    },
}


def test_schema_violations_and_server_errors_fail(test_app: TestApp, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "openapi.json").write_text(json.dumps(BROKEN_DOC))
    report = run(
        "tests:\n  contract: {openapi: openapi.json, max_examples: 3}\n",
        test_app.url,
        tmp_path,
        base_dir=project,
    )
    found = {case.name: case for case in report.cases}
    assert found["GET /health"].status == "passed"
    assert found["GET /broken"].status == "failed"
    assert "Response violates schema" in found["GET /broken"].message
    assert '"not-a-number" is not of type "integer"' in found["GET /broken"].details
    assert found["GET /fail"].status == "failed"
    assert "Server error" in found["GET /fail"].message


def test_a_missing_document_is_an_error(test_app: TestApp, tmp_path: Path) -> None:
    report = run("tests:\n  contract: {openapi: nowhere.json}\n", test_app.url, tmp_path)
    (case,) = report.cases
    assert case.status == "error"
    assert "nowhere.json does not exist" in case.message


def test_only_reads_are_generated_unless_writes_are_asked_for(
    notes: NotesProcess, tmp_path: Path
) -> None:
    with notes.client() as client:
        before = client.get("/notes", params={"limit": 200}).json()
    report = run(
        "tests:\n  contract: {openapi: app/openapi.json, max_examples: 5}\n",
        notes.base_url,
        tmp_path,
    )
    assert report.passed
    assert {case.name.split()[0] for case in report.cases} == {"GET"}
    with notes.client() as client:
        assert client.get("/notes", params={"limit": 200}).json() == before


PRIVATE_DOC = {
    "openapi": "3.0.3",
    "info": {"title": "private", "version": "1"},
    "paths": {
        "/private": {
            "get": {
                "responses": {
                    "200": {
                        "description": "the record",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id"],
                                    "properties": {"id": {"type": "integer"}},
                                }
                            }
                        },
                    }
                },
            }
        }
    },
}
PRIVATE = """\
tests:
  contract:
    openapi: openapi.json
    max_examples: 3
    {auth}
"""
SECRETS = "config:\n  secrets: {backend: env, settings: {prefix: SHIPWAY_SECRET_}}\n"


def test_contract_requests_carry_auth_from_a_secret_and_never_show_it(
    test_app: TestApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "openapi.json").write_text(json.dumps(PRIVATE_DOC))
    monkeypatch.setenv("SHIPWAY_SECRET_API_TOKEN", TestApp.token)
    without = run(PRIVATE.format(auth=""), test_app.url, tmp_path, base_dir=project)
    [case] = without.cases
    assert case.status == "failed"
    assert "Undocumented status code" in case.message
    authed = run(
        PRIVATE.format(auth="auth: {bearer: '${secret:api_token}'}"),
        test_app.url,
        tmp_path / "second",
        base_dir=project,
        config_yaml=SECRETS,
    )
    [case] = authed.cases
    assert case.status == "passed", case.details
    assert int(case.properties["requests"]) >= 1


def test_a_contract_failure_report_masks_the_credentials(
    test_app: TestApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wrong token gets 401 and schemathesis' report repeats the request as a curl
    line: a secret in a header of our own is masked there too."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "openapi.json").write_text(json.dumps(PRIVATE_DOC))
    wrong = "wrong-token-" + "7" * 20
    monkeypatch.setenv("SHIPWAY_SECRET_API_TOKEN", wrong)
    report = run(
        PRIVATE.format(
            auth="auth: {bearer: '${secret:api_token}'}\n    "
            "headers: {X-Shipway-Key: '${secret:api_token}'}"
        ),
        test_app.url,
        tmp_path,
        base_dir=project,
        config_yaml=SECRETS,
    )
    [case] = report.cases
    assert case.status == "failed"
    assert "curl" in case.details
    assert "X-Shipway-Key: " in case.details  # masked by schemathesis or by us
    assert wrong not in case.details + case.message
