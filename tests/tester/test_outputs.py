"""What a run writes: JUnit XML read back by a JUnit parser, the JSON report, and no
secret value anywhere (a canary is planted and searched for)."""

from __future__ import annotations

import json
from pathlib import Path

import junitparser
import pytest

from shipway.tester import junit_xml, write_junit
from tests.tester.apps import TestApp
from tests.tester.conftest import run

MIXED = """
tests:
  api:
    - {name: ok, request: GET /health, expect: {status: 200}}
    - {name: wrong status, request: GET /fail, expect: {status: 200}}
    - {name: bad variable, request: "GET /echo?x=${nope}"}
    - {name: other group, group: second, request: GET /items, expect: {json: {"$.items[0].id": 1}}}
"""


def test_junit_is_read_back_and_matches_the_report(test_app: TestApp, tmp_path: Path) -> None:
    report = run(MIXED, test_app.url, tmp_path)
    path = write_junit(report, tmp_path / "out" / "junit.xml")
    xml = junitparser.JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert set(suites) == {"api.main", "api.second"}
    main = suites["api.main"]
    assert (main.tests, main.failures, main.errors, main.skipped) == (3, 1, 1, 0)
    cases = {case.name: case for case in main}
    assert cases["ok"].is_passed
    (failure,) = cases["wrong status"].result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message == "status 503, expected 200"
    (error,) = cases["bad variable"].result
    assert isinstance(error, junitparser.Error)
    assert "unknown reference ${nope}" in (error.message or "")
    # the failed check's artifact is attached the way CI servers read it
    artifact = next(c for c in report.cases if c.name == "wrong status").artifacts[0]
    assert f"[[ATTACHMENT|{artifact}]]" in (cases["wrong status"].system_out or "")
    for junit_case in (*main, *suites["api.second"]):
        ours = next(c for c in report.cases if c.name == junit_case.name)
        assert junit_case.time == pytest.approx(ours.seconds, abs=0.001)
    assert xml.tests == len(report.cases)


def test_control_characters_do_not_break_the_xml(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        'tests:\n  api:\n    - {name: "bell\\a", request: GET /health, expect: {status: 201}}\n',
        test_app.url,
        tmp_path,
    )
    path = tmp_path / "j.xml"
    path.write_text(junit_xml(report))
    (case,) = list(next(iter(junitparser.JUnitXml.fromfile(str(path)))))
    assert case.name == "bell\N{REPLACEMENT CHARACTER}"


def test_json_report_has_every_case(test_app: TestApp, tmp_path: Path) -> None:
    report = run(MIXED, test_app.url, tmp_path)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    assert data["counts"] == {"passed": 2, "failed": 1, "error": 1, "skipped": 0}
    assert [c["name"] for k in data["kinds"] for c in k["cases"]].count("ok") == 1
    assert data["summary"].startswith("2 passed, 1 failed, 1 error in ")


CANARY = "canary-secret-9f3a7c"


def test_secrets_never_reach_any_output(
    test_app: TestApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_SECRET_API_TOKEN", CANARY)
    monkeypatch.setenv("SHIPWAY_SECRET_API_PASSWORD", CANARY + "-pw")
    report = run(
        """
tests:
  api:
    - name: bearer echoed back
      request: {method: GET, path: /echo, auth: {bearer: "${secret:api_token}"}}
      expect: {status: 201, json: {"$.authorization": "Bearer ${secret:api_token}"}}
    - name: basic in the body
      request:
        method: POST
        path: /echo
        auth: {basic: {username: ann, password: "${secret:api_password}"}}
        json: {token: "${secret:api_token}"}
      expect: {body_contains: nothing like this}
""",
        test_app.url,
        tmp_path,
        config_yaml="config:\n  secrets: {backend: env, settings: {prefix: SHIPWAY_SECRET_}}\n",
    )
    assert [case.status for case in report.cases] == ["failed", "failed"]
    assert report.cases[0].message == "status 200, expected 201"  # the bearer did arrive
    junit = write_junit(report, tmp_path / "artifacts" / "junit.xml")
    written = [junit, *(tmp_path / "artifacts").rglob("*")]
    texts = [p.read_text(errors="replace") for p in written if p.is_file()]
    texts.append(json.dumps(report.to_dict()))
    assert len(texts) >= 4
    for text in texts:
        assert CANARY not in text
        assert "Y2FuYXJ5" not in text  # nor its base64 in a Basic header
    kept = json.loads(Path(report.cases[0].artifacts[0]).read_text())
    assert kept["request"]["headers"]["Authorization"] == "***"
    assert json.loads(kept["response"]["body"]["text"])["authorization"] == "Bearer ***"


def test_a_secret_the_backend_cannot_give_is_an_error(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        'tests:\n  api:\n    - {name: t, request: {path: /echo, auth: {bearer: "${secret:x}"}}}\n',
        test_app.url,
        tmp_path,
    )
    (case,) = report.cases
    assert case.status == "error"
    assert case.message.startswith("secret 'x': ")
