"""Judging one response against `expect`: status, headers, JSONPath values, JSON Schema,
body text and pattern, latency. Each broken expectation is one line of the failure."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jsonschema
import jsonschema.exceptions

from shipway.manifest.testing import ApiExpectation
from shipway.tester.api.jsonpaths import find, same

_NO_JSON = object()


@dataclass(frozen=True)
class Observed:
    """What came back for one request."""

    status: int
    headers: Mapping[str, str]
    text: str
    seconds: float

    @cached_property
    def document(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return _NO_JSON

    def report(self) -> dict[str, Any]:
        return {"status": self.status, "headers": dict(self.headers), "seconds": self.seconds}


def shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def check_response(
    expect: ApiExpectation,
    observed: Observed,
    schema: Callable[[], Mapping[str, Any] | None],
    resolve: Callable[[Any], Any] = lambda value: value,
) -> list[str]:
    """Every expectation the response breaks, one line each (empty: it passed).
    `resolve` fills references in expected values (saved variables, secrets)."""
    problems: list[str] = []
    if expect.status is not None and observed.status != expect.status:
        problems.append(f"status {observed.status}, expected {expect.status}")
    headers = {name.lower(): value for name, value in observed.headers.items()}
    for name, value in expect.headers.items():
        wanted = resolve(value)
        got = headers.get(name.lower())
        if got is None:
            problems.append(f"header {name} is missing, expected {wanted!r}")
        elif got != wanted:
            problems.append(f"header {name} is {got!r}, expected {wanted!r}")
    if expect.json_ or expect.schema_ is not None:
        problems += _check_json(expect, observed, schema(), resolve)
    if expect.body_contains is not None:
        text = resolve(expect.body_contains)
        if text not in observed.text:
            problems.append(f"body does not contain {text!r}")
    if expect.body_matches is not None and re.search(expect.body_matches, observed.text) is None:
        problems.append(f"body does not match /{expect.body_matches}/")
    if expect.max_latency is not None and observed.seconds > float(expect.max_latency):
        problems.append(
            f"took {observed.seconds * 1000:.0f}ms, more than max_latency {expect.max_latency.text}"
        )
    return problems


def _check_json(
    expect: ApiExpectation,
    observed: Observed,
    schema: Mapping[str, Any] | None,
    resolve: Callable[[Any], Any],
) -> list[str]:
    document = observed.document
    if document is _NO_JSON:
        return ["body is not JSON, so its values and schema cannot be checked"]
    problems = []
    for expression, value in expect.json_.items():
        wanted = resolve(value)
        values = find(expression, document)
        if not values:
            problems.append(f"{expression} selects nothing, expected {shown(wanted)}")
        else:
            got = values[0] if len(values) == 1 else values
            if not same(got, wanted):
                problems.append(f"{expression} is {shown(got)}, expected {shown(wanted)}")
    if schema is not None:
        problems += schema_problems(schema, document)
    return problems


def schema_problems(schema: Mapping[str, Any], document: Any) -> list[str]:
    """The most relevant JSON Schema violation, with where it is in the body."""
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is None:
        return []
    where = error.json_path if error.absolute_path else "$"
    return [f"body does not satisfy the schema at {where}: {error.message[:200]}"]


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise jsonschema.SchemaError when `schema` is not a JSON Schema."""
    jsonschema.validators.validator_for(schema).check_schema(dict(schema))
