"""The api kind against real servers: the example application and a small test app."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shipway.tester.results import RunReport
from tests.examples.notes_process import NotesProcess
from tests.tester.apps import TestApp
from tests.tester.conftest import run

PASSING = """
tests:
  api:
    - name: health
      request: GET /health
      expect:
        status: 200
        json: {"$.status": ok}
        headers: {content-type: application/json}
        max_latency: 2s
    - name: create a note
      request: {method: POST, path: /notes, json: {text: hi from the tester}}
      expect:
        status: 201
        json: {"$.text": hi from the tester}
        schema: {type: object, required: [id, text], properties: {id: {type: integer}}}
      save: {note_id: "$.id"}
    - name: read it back
      request: GET /notes/${note_id}
      expect:
        status: 200
        json: {"$.id": "${note_id}", "$.text": hi from the tester}
        body_matches: '"text": ?"hi from'
    - name: list notes
      request: {method: GET, path: /notes, query: {limit: 5}}
      expect: {status: 200, schema: app/openapi-note-list.schema.json}
    - name: page
      group: page
      request: GET /
      expect: {status: 200, body_contains: <form}
"""


def cases_by_name(report: RunReport) -> dict[str, object]:
    return {case.name: case for case in report.cases}


def test_every_check_passes_against_the_example(
    notes: NotesProcess, tmp_path: Path, schema_dir: Path
) -> None:
    report = run(PASSING, notes.base_url, tmp_path, base_dir=schema_dir)
    assert report.passed, [case.to_dict() for case in report.failures]
    assert [case.name for case in report.cases if case.suite == "api.main"] == [
        "health",
        "create a note",
        "read it back",
        "list notes",
    ]
    assert {case.suite for case in report.cases} == {"api.main", "api.page"}
    created = cases_by_name(report)["create a note"]
    assert created.properties["status"] == "201"  # type: ignore[attr-defined]


@pytest.fixture
def schema_dir(tmp_path: Path) -> Path:
    """A manifest folder with a JSON Schema file for the note list."""
    folder = tmp_path / "project"
    (folder / "app").mkdir(parents=True)
    schema = {
        "type": "array",
        "items": {"type": "object", "required": ["id", "text", "created_at"]},
    }
    (folder / "app" / "openapi-note-list.schema.json").write_text(json.dumps(schema))
    return folder


FAILING = """
tests:
  api:
    - name: wrong status
      request: GET /notes/999999
      expect: {status: 200}
    - name: jsonpath mismatch
      request: GET /health
      expect: {json: {"$.status": degraded}}
    - name: schema violation
      request: GET /health
      expect:
        schema: {type: object, properties: {version: {type: integer}}}
    - name: too slow
      request: GET /health
      expect: {max_latency: 0ms}
    - name: missing header
      request: GET /health
      expect: {headers: {x-request-id: abc}}
"""


def test_each_expectation_fails_for_its_own_reason(notes: NotesProcess, tmp_path: Path) -> None:
    report = run(FAILING, notes.base_url, tmp_path)
    assert not report.passed
    found = {case.name: case for case in report.cases}
    assert all(case.status == "failed" for case in found.values())
    assert found["wrong status"].message == "status 404, expected 200"
    assert found["jsonpath mismatch"].message == '$.status is "ok", expected "degraded"'
    assert found["schema violation"].message.startswith(
        "body does not satisfy the schema at $.version: '1' is not of type 'integer'"
    )
    assert "more than max_latency 0ms" in found["too slow"].message
    assert found["missing header"].message == "header x-request-id is missing, expected 'abc'"


def test_a_failed_check_keeps_request_and_response(notes: NotesProcess, tmp_path: Path) -> None:
    report = run(FAILING, notes.base_url, tmp_path)
    case = next(case for case in report.cases if case.name == "wrong status")
    assert len(case.artifacts) == 1
    kept = json.loads(Path(case.artifacts[0]).read_text())
    assert Path(case.artifacts[0]).parent == tmp_path / "artifacts" / "api"
    assert kept["request"]["url"] == f"{notes.base_url}/notes/999999"
    assert kept["response"]["status"] == 404
    assert json.loads(kept["response"]["body"]["text"]) == {"error": "no such note"}
    assert kept["problems"] == ["status 404, expected 200"]


def test_saved_values_keep_their_json_type(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        """
tests:
  api:
    - name: first
      request: GET /items
      expect: {json: {"$.items[*].id": [1, 2], "$.items[0].tags": [a]}, headers: {X-Total: "2"}}
      save: {first: "$.items[0].id", tags: "$.items[0].tags"}
    - name: echo
      request:
        method: POST
        path: /echo
        json: {id: "${first}", label: "id ${first}", t: "${tags}"}
      expect: {json: {"$.body": '{"id": 1, "label": "id 1", "t": ["a"]}'}}
""",
        test_app.url,
        tmp_path,
    )
    assert report.passed, [case.to_dict() for case in report.failures]


def test_query_form_and_auth_are_sent(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        """
tests:
  api:
    - name: form with basic auth
      request:
        method: POST
        path: /echo
        query: {page: 2, all: true}
        form: {a: "1 2", b: x}
        auth: {basic: {username: ann, password: pw}}
      expect:
        json:
          "$.query": {page: "2", all: "true"}
          "$.content_type": application/x-www-form-urlencoded
          "$.body": a=1+2&b=x
          "$.authorization": Basic YW5uOnB3
""",
        test_app.url,
        tmp_path,
    )
    assert report.passed, [case.to_dict() for case in report.failures]


def test_retries_wait_for_an_eventually_consistent_answer(
    test_app: TestApp, tmp_path: Path
) -> None:
    key = f"k{time.monotonic_ns()}"
    tests = f"""
tests:
  api:
    - name: becomes ready
      request: GET /eventually/{key}
      expect: {{status: 200, json: {{"$.ready": true}}}}
      retry: {{attempts: 5, interval: 50ms}}
    - name: no retry
      request: GET /eventually/{key}-other
      expect: {{status: 200}}
"""
    report = run(tests, test_app.url, tmp_path)
    found = {case.name: case for case in report.cases}
    assert found["becomes ready"].status == "passed"
    assert found["becomes ready"].properties["attempts"] == "3"
    assert found["no retry"].status == "failed"
    assert found["no retry"].properties["attempts"] == "1"


def test_groups_run_in_parallel_and_in_order_inside(test_app: TestApp, tmp_path: Path) -> None:
    groups = "".join(
        f"""
    - {{name: {g}-1, group: {g}, request: "GET /slow?ms=400", expect: {{status: 200}}}}
    - {{name: {g}-2, group: {g}, request: "GET /slow?ms=1", expect: {{status: 200}}}}"""
        for g in ("a", "b", "c")
    )
    started = time.monotonic()
    report = run("tests:\n  api:" + groups + "\n", test_app.url, tmp_path)
    elapsed = time.monotonic() - started
    assert report.passed
    assert elapsed < 1.1, f"three 0.4s groups took {elapsed:.2f}s: not parallel"
    for group in ("a", "b", "c"):
        names = [case.name for case in report.cases if case.suite == f"api.{group}"]
        assert names == [f"{group}-1", f"{group}-2"]


def test_a_missing_variable_is_an_error_not_a_pass(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        """
tests:
  api:
    - name: save fails
      request: GET /health
      save: {token: "$.token"}
    - name: uses it
      request: GET /echo?t=${token}
""",
        test_app.url,
        tmp_path,
    )
    found = {case.name: case for case in report.cases}
    assert found["save fails"].status == "failed"
    assert "save token: $.token selects nothing" in found["save fails"].message
    assert found["uses it"].status == "error"
    assert "unknown reference ${token}" in found["uses it"].message


def test_no_server_is_a_failure_with_the_reason(tmp_path: Path) -> None:
    from tests.tester.apps import free_port

    report = run(
        "tests:\n  api:\n    - {name: down, request: GET /health, expect: {status: 200}}\n",
        f"http://127.0.0.1:{free_port()}",
        tmp_path,
    )
    (case,) = report.cases
    assert case.status == "failed"
    assert case.message.startswith("no response: ConnectError")
