"""The `tests` section's new fields: what loads, and bad values failing at file:line:col."""

from __future__ import annotations

import pytest

from shipway.errors import ManifestError
from shipway.manifest import load_manifest_text

HEAD = "version: 1\nproject: demo\nenvironments:\n  dev: {}\n"


def load(tests: str) -> object:
    return load_manifest_text(HEAD + tests, "shipway.yaml")


@pytest.mark.parametrize(
    ("tests", "where", "reason"),
    [
        (
            "tests:\n  api:\n    - {name: a, request: GET /, save: {x: '$.['}}\n",
            "7:43",
            "invalid JSONPath '$.['",
        ),
        (
            "tests:\n  api:\n    - name: a\n      request: GET /\n      expect:\n"
            "        json: {'$..[': 1}\n",
            "10:16",
            "invalid JSONPath '$..['",
        ),
        (
            "tests:\n  api:\n    - name: a\n      request: {path: /, json: {}, form: {}}\n",
            "8:16",
            "not json and form",
        ),
        (
            "tests:\n  api:\n    - name: a\n      request: {path: /, auth: {}}\n",
            "8:32",
            "auth needs exactly one of: bearer, basic",
        ),
        (
            "tests:\n  api:\n    - {name: a, request: GET /, expect: {body_matches: '(x'}}\n",
            "7:56",
            "invalid regular expression '(x'",
        ),
        (
            "tests:\n  e2e:\n    - {name: a, steps: [{goto: /}], pytest: e2e/test_a.py}\n",
            "7:7",
            "either 'steps' or 'pytest'",
        ),
        (
            "tests:\n  services:\n    - {name: a, tcp: 'h:1', redis: 'redis://h'}\n",
            "7:7",
            "a service check needs exactly one of: tcp, postgres, redis (found tcp and redis)",
        ),
        (
            "tests:\n  services:\n    - {name: a, tcp: 'h:1'}\n    - {name: a, tcp: 'h:2'}\n",
            "8:14",
            "duplicate test name 'a'",
        ),
    ],
)
def test_bad_tests_fail_at_the_right_place(tests: str, where: str, reason: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load(tests)
    error = caught.value
    assert f"{error.line}:{error.column}" == where, str(error)
    assert reason in error.reason, str(error)


def test_the_new_fields_load() -> None:
    loaded = load(
        """services: {api: {run: "true", port: 18081}}
tests:
  api:
    - name: a
      group: side
      request: {url: "http://example.test/x", query: {n: 1}, form: {a: b},
                auth: {basic: {username: u, password: "${secret:pw}"}}, timeout: 2s}
      expect: {schema: schemas/x.json, body_matches: "^ok"}
      retry: {attempts: 3}
  contract: {openapi: openapi.json}
  e2e:
    - name: b
      steps: [{select: {selector: s, value: v}}, {press: {key: Enter}}, {expect_url: /x},
              {screenshot: shot}]
  services:
    - {name: c, postgres: "${resources.db.url}"}
"""
    )
    tests = loaded.manifest.tests  # type: ignore[attr-defined]
    api = tests.api[0]
    assert api.group == "side" and api.request.url == "http://example.test/x"
    assert api.retry.attempts == 3 and float(api.retry.interval) == 1.0
    assert api.expect.schema_ == "schemas/x.json"
    assert tests.contract.methods == ["GET", "HEAD", "OPTIONS"]
    assert float(tests.e2e[0].timeout) == 10.0
    assert tests.services[0].postgres == "${resources.db.url}"
