"""The `tests` section: what the IntegrationTester runs against a new release.

Requests have a short form (`GET /health`) that is expanded to the full mapping at load
time, so the tester only ever sees `RequestSpec`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, model_validator

from shipway.manifest.fields import (
    Duration,
    HttpUrl,
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
_READ_METHODS: tuple[HttpMethod, ...] = ("GET", "HEAD", "OPTIONS")
_SHORT_REQUEST = r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) +/\S*$"
RequestPath = Annotated[str, StringConstraints(pattern=r"^/")]
QueryValue = str | int | float | bool


def _check_pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value[:60]!r}: {exc}") from exc
    return value


Pattern = Annotated[str, AfterValidator(_check_pattern)]


def jsonpath_problem(expression: str) -> str | None:
    """Why `expression` is not a JSONPath (RFC 9535), or None when it is one."""
    import jsonpath  # NOTE: imported here: only manifests with tests pay for it

    try:
        jsonpath.compile(expression)
    except jsonpath.JSONPathError as exc:
        reason = str(exc).splitlines()[0]
        return f"invalid JSONPath {expression[:60]!r}: {reason}"
    return None


def _check_jsonpath(value: str) -> str:
    problem = jsonpath_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


JsonPath = Annotated[str, AfterValidator(_check_jsonpath)]


class BasicCredentials(ManifestModel):
    """A user name and password for HTTP basic authentication."""

    username: str = Field(min_length=1, description="User name; may use references.")
    password: str = Field(description="Password, e.g. `${secret:api_password}`.")


class AuthSpec(ManifestModel):
    """How a request authenticates; values may come from secrets (`${secret:name}`) and
    never appear in reports, JUnit files or artifacts."""

    bearer: str | None = Field(None, description="Bearer token, e.g. `${secret:api_token}`.")
    basic: BasicCredentials | None = Field(None, description="HTTP basic credentials.")

    @model_validator(mode="after")
    def _one_scheme(self) -> AuthSpec:
        require_one_of(self, "auth", "bearer", "basic")
        return self


class RequestSpec(ManifestModel):
    """One HTTP request to the release under test."""

    method: HttpMethod = Field("GET", description="HTTP method.")
    path: RequestPath | None = Field(
        None, description="Path on the tested service; may use saved variables."
    )
    url: HttpUrl | None = Field(None, description="Absolute URL, instead of `path`.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    query: dict[str, QueryValue] = Field(
        default_factory=dict, description="Query parameters added to the URL."
    )
    json_: Any = Field(None, alias="json", description="Body sent as JSON.")
    form: dict[str, str] | None = Field(
        None, description="Body sent as `application/x-www-form-urlencoded`."
    )
    body: str | None = Field(None, description="Body sent as text.")
    auth: AuthSpec | None = Field(None, description="Authentication: `bearer` or `basic`.")
    timeout: Duration | None = Field(None, description="Give up after this long (default 10s).")

    @model_validator(mode="after")
    def _one_body(self) -> RequestSpec:
        bodies = [name for name in ("json_", "form", "body") if getattr(self, name) is not None]
        if len(bodies) > 1:
            shown = " and ".join(name.rstrip("_") for name in bodies)
            raise ModelProblem(f"a request has one of 'json', 'form' or 'body', not {shown}")
        require_one_of(self, "a request", "path", "url")
        return self

    @property
    def target(self) -> str:
        """The path or URL, for messages."""
        return self.path if self.path is not None else str(self.url)


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
    headers: dict[str, str] = Field(
        default_factory=dict, description="Expected headers (names ignore case)."
    )
    schema_: dict[str, Any] | ProjectPath | None = Field(
        None,
        alias="schema",
        description="JSON Schema the JSON body must satisfy: inline, or a file beside the "
        "manifest.",
    )
    body_contains: str | None = Field(None, description="Text the body must contain.")
    body_matches: Pattern | None = Field(
        None, description="Regular expression the body must match (searched, not anchored)."
    )
    max_latency: Duration | None = Field(None, description="Slowest acceptable response.")

    @model_validator(mode="after")
    def _check_paths(self) -> ApiExpectation:
        for expression in self.json_:
            problem = jsonpath_problem(expression)
            if problem is not None:
                raise ModelProblem(problem, ("json", expression), at_key=True)
        return self


class RetrySpec(ManifestModel):
    """Send the request again until the expectations hold, for eventually-consistent checks."""

    attempts: int = Field(ge=1, le=1000, description="Tries in all, the first included.")
    interval: Duration = Field("1s", validate_default=True, description="Pause between tries.")


class ApiTest(ManifestModel):
    """One request and its expectations. Tests of one group run in order and share saved
    variables; groups run in parallel."""

    name: str = Field(min_length=1, description="Test name, unique in `tests.api`.")
    group: Name = Field("main", description="Group; groups run in parallel.")
    request: Request = Field(description="`METHOD /path`, or a mapping with method, path, ...")
    expect: ApiExpectation = Field(
        default_factory=ApiExpectation, description="Checks on the response."
    )
    save: dict[VariableName, JsonPath] = Field(
        default_factory=dict,
        description="Variable -> JSONPath into the response, usable as `${variable}` later "
        "in the same group.",
    )
    retry: RetrySpec | None = Field(None, description="Try again while expectations fail.")


class ContractTests(ManifestModel):
    """Property-based checks that the service matches its OpenAPI description."""

    openapi: ProjectPath = Field(description="OpenAPI document, relative to the manifest.")
    max_examples: int = Field(50, ge=1, description="Generated requests per operation.")
    methods: list[HttpMethod] = Field(
        default_factory=lambda: list(_READ_METHODS),
        min_length=1,
        description="Operations tested, by method. Only reads by default: generated "
        "writes land in the release's real data; add POST, PUT, PATCH, DELETE to opt in.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="Headers sent with every request; may use references."
    )
    auth: AuthSpec | None = Field(
        None, description="Authentication of every request: `bearer` or `basic`."
    )


class FillAction(ManifestModel):
    """Type a value into a form field."""

    selector: str = Field(min_length=1, description="CSS selector of the field.")
    value: str = Field(description="Text to type.")


class SelectAction(ManifestModel):
    """Choose an option of a `<select>`."""

    selector: str = Field(min_length=1, description="CSS selector of the select element.")
    value: str = Field(description="Value (or label) of the option.")


class PressAction(ManifestModel):
    """Press a key, in an element or on the page."""

    key: str = Field(min_length=1, description="Key name, e.g. `Enter` or `Control+A`.")
    selector: str | None = Field(None, description="Element to focus first.")


class E2EStep(ManifestModel):
    """One browser action; exactly one key per step."""

    goto: str | None = Field(None, description="Open this path or URL.")
    click: str | None = Field(None, description="Click the element matching this selector.")
    fill: FillAction | None = Field(None, description="Type into a field.")
    select: SelectAction | None = Field(None, description="Choose an option.")
    press: PressAction | None = Field(None, description="Press a key.")
    expect_text: str | None = Field(None, description="Wait until the page shows this text.")
    expect_url: str | None = Field(
        None, description="Wait until the URL is this path or URL (`*` matches anything)."
    )
    screenshot: str | None = Field(
        None, description="Save a screenshot under this name with the test's artifacts."
    )

    @model_validator(mode="after")
    def _one_action(self) -> E2EStep:
        require_one_of(
            self,
            "a browser step",
            "goto",
            "click",
            "fill",
            "select",
            "press",
            "expect_text",
            "expect_url",
            "screenshot",
        )
        return self


class E2ETest(ManifestModel):
    """A browser scenario: declarative `steps`, or a pytest-playwright file."""

    name: str = Field(min_length=1, description="Scenario name, unique in `tests.e2e`.")
    steps: list[E2EStep] = Field(default_factory=list, description="Actions, in order.")
    pytest: ProjectPath | None = Field(
        None, description="A pytest-playwright test file (or folder) to run instead of steps."
    )
    timeout: Duration = Field(
        "10s",
        validate_default=True,
        description="How long one step may wait for the page.",
    )

    @model_validator(mode="after")
    def _steps_or_file(self) -> E2ETest:
        if bool(self.steps) == (self.pytest is not None):
            raise ModelProblem("a browser scenario has either 'steps' or 'pytest'")
        return self


class LoadSlo(ManifestModel):
    """Limits the load test must stay within."""

    p50: Duration | None = Field(None, description="Median latency limit.")
    p95: Duration | None = Field(None, description="95th percentile latency limit.")
    p99: Duration | None = Field(None, description="99th percentile latency limit.")
    error_rate: Percent | None = Field(None, description="Share of failed requests allowed.")
    max_p95_increase: Percent | None = Field(
        None,
        description="Largest increase of the 95th percentile over the last passing run with "
        "the same load settings (e.g. `20%`); without it the comparison is reported only.",
    )


class LoadTest(ManifestModel):
    """A constant-rate (open-model) load test."""

    rate: Rate = Field(description="Requests per time unit, e.g. `200/s`.")
    duration: Duration = Field(description="How long to send load.")
    requests: list[Request] = Field(min_length=1, description="Requests sent round-robin.")
    slo: LoadSlo = Field(default_factory=LoadSlo, description="Pass/fail limits.")
    connections: int = Field(
        64, ge=1, le=10000, description="Most keep-alive connections open at once."
    )
    timeout: Duration = Field(
        "10s",
        validate_default=True,
        description="A request without an answer after this long counts as an error.",
    )


class ServiceCheck(ManifestModel):
    """A dependency that must accept a connection and answer a trivial query."""

    name: str = Field(min_length=1, description="Check name, unique in `tests.services`.")
    tcp: str | None = Field(None, description="`host:port` that must accept a connection.")
    postgres: str | None = Field(
        None, description="PostgreSQL URL; `SELECT 1` must answer, e.g. `${resources.db.url}`."
    )
    redis: str | None = Field(None, description="Redis URL; `PING` must answer `PONG`.")
    timeout: Duration = Field("5s", validate_default=True, description="Give up after this long.")

    @model_validator(mode="after")
    def _one_kind(self) -> ServiceCheck:
        require_one_of(self, "a service check", "tcp", "postgres", "redis")
        return self


class IntegrationTestsSpec(ManifestModel):
    """Tests run after release; a failure rolls the release back."""

    service: Name | None = Field(
        None, description="Service the tests target; defaults to the only service with a port."
    )
    api: list[ApiTest] = Field(default_factory=list, description="HTTP API checks.")
    contract: ContractTests | None = Field(None, description="OpenAPI contract tests.")
    e2e: list[E2ETest] = Field(default_factory=list, description="Browser scenarios.")
    load: LoadTest | None = Field(None, description="Load test.")
    services: list[ServiceCheck] = Field(
        default_factory=list, description="Databases, caches and endpoints that must answer."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> IntegrationTestsSpec:
        groups: tuple[tuple[str, Sequence[ApiTest | E2ETest | ServiceCheck]], ...] = (
            ("api", self.api),
            ("e2e", self.e2e),
            ("services", self.services),
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
