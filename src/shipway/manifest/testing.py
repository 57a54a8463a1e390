"""The `tests` section: what the IntegrationTester runs against a new release.

Requests have a short form (`GET /health`) that is expanded to the full mapping at load
time, so the tester only ever sees `RequestSpec`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, StringConstraints, model_validator

from shipway.manifest.fields import (
    Duration,
    ManifestModel,
    ModelProblem,
    Name,
    Percent,
    ProjectPath,
    Rate,
    VariableName,
    require_one_of,
)

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_METHODS = HttpMethod.__args__  # type: ignore[attr-defined]
_SHORT_REQUEST = r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) +/\S*$"


class RequestSpec(ManifestModel):
    """One HTTP request to the release under test."""

    method: HttpMethod = Field("GET", description="HTTP method.")
    path: str = Field(pattern=r"^/", description="Path and query; may use saved variables.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    json_: Any = Field(None, alias="json", description="Body sent as JSON.")
    body: str | None = Field(None, description="Body sent as text.")

    @model_validator(mode="after")
    def _one_body(self) -> RequestSpec:
        if self.json_ is not None and self.body is not None:
            raise ModelProblem("a request has either 'json' or 'body', not both")
        return self


def _expand_short_request(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    method, _, path = value.strip().partition(" ")
    if method not in _METHODS or not path.strip().startswith("/"):
        raise ValueError(f"a request is written 'METHOD /path', e.g. 'GET /health'; got {value!r}")
    return {"method": method, "path": path.strip()}


Request = Annotated[
    RequestSpec,
    BeforeValidator(
        _expand_short_request,
        json_schema_input_type=Annotated[str, StringConstraints(pattern=_SHORT_REQUEST)]
        | RequestSpec,
    ),
]


class ApiExpectation(ManifestModel):
    """What a response must look like."""

    status: int | None = Field(None, ge=100, le=599, description="Expected status code.")
    json_: dict[str, Any] = Field(
        default_factory=dict,
        alias="json",
        description='JSONPath expression -> expected value, e.g. `{"$.status": ok}`.',
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Expected headers.")
    body_contains: str | None = Field(None, description="Text the body must contain.")
    max_latency: Duration | None = Field(None, description="Slowest acceptable response.")


class ApiTest(ManifestModel):
    """One request and its expectations; tests run in order and share saved variables."""

    name: str = Field(min_length=1, description="Test name, unique in `tests.api`.")
    request: Request = Field(description="`METHOD /path`, or a mapping with method, path, ...")
    expect: ApiExpectation = Field(
        default_factory=ApiExpectation, description="Checks on the response."
    )
    save: dict[VariableName, str] = Field(
        default_factory=dict,
        description="Variable -> JSONPath into the response, usable as `${variable}` later.",
    )


class ContractTests(ManifestModel):
    """Property-based checks that the service matches its OpenAPI description."""

    openapi: ProjectPath = Field(description="OpenAPI document, relative to the manifest.")
    max_examples: int = Field(50, ge=1, description="Generated requests per operation.")


class FillAction(ManifestModel):
    """Type a value into a form field."""

    selector: str = Field(min_length=1, description="CSS selector of the field.")
    value: str = Field(description="Text to type.")


class E2EStep(ManifestModel):
    """One browser action; exactly one key per step."""

    goto: str | None = Field(None, description="Open this path or URL.")
    click: str | None = Field(None, description="Click the element matching this selector.")
    fill: FillAction | None = Field(None, description="Type into a field.")
    expect_text: str | None = Field(None, description="Wait until the page shows this text.")

    @model_validator(mode="after")
    def _one_action(self) -> E2EStep:
        require_one_of(self, "a browser step", "goto", "click", "fill", "expect_text")
        return self


class E2ETest(ManifestModel):
    """A browser scenario."""

    name: str = Field(min_length=1, description="Scenario name, unique in `tests.e2e`.")
    steps: list[E2EStep] = Field(min_length=1, description="Actions, in order.")


class LoadSlo(ManifestModel):
    """Limits the load test must stay within."""

    p50: Duration | None = Field(None, description="Median latency limit.")
    p95: Duration | None = Field(None, description="95th percentile latency limit.")
    p99: Duration | None = Field(None, description="99th percentile latency limit.")
    error_rate: Percent | None = Field(None, description="Share of failed requests allowed.")


class LoadTest(ManifestModel):
    """A constant-rate load test."""

    rate: Rate = Field(description="Requests per time unit, e.g. `200/s`.")
    duration: Duration = Field(description="How long to send load.")
    requests: list[Request] = Field(min_length=1, description="Requests sent round-robin.")
    slo: LoadSlo = Field(default_factory=LoadSlo, description="Pass/fail limits.")


class IntegrationTestsSpec(ManifestModel):
    """Tests run after release; a failure rolls the release back."""

    service: Name | None = Field(
        None, description="Service the tests target; defaults to the only service with a port."
    )
    api: list[ApiTest] = Field(default_factory=list, description="HTTP API checks.")
    contract: ContractTests | None = Field(None, description="OpenAPI contract tests.")
    e2e: list[E2ETest] = Field(default_factory=list, description="Browser scenarios.")
    load: LoadTest | None = Field(None, description="Load test.")

    @model_validator(mode="after")
    def _unique_names(self) -> IntegrationTestsSpec:
        groups: tuple[tuple[str, Sequence[ApiTest | E2ETest]], ...] = (
            ("api", self.api),
            ("e2e", self.e2e),
        )
        for section, tests in groups:
            seen: set[str] = set()
            for index, test in enumerate(tests):
                if test.name in seen:
                    raise ModelProblem(
                        f"duplicate test name {test.name!r}", (section, index, "name")
                    )
                seen.add(test.name)
        return self
