"""The `api` kind: declarative HTTP checks. Checks of one group run in order and share
the variables they `save`; groups run in parallel. A failed check keeps the request and
the response (credentials masked) as an artifact."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import jsonschema
import yaml

from shipway.manifest.testing import ApiExpectation, ApiTest, IntegrationTestsSpec
from shipway.tester.api.expectations import Observed, check_response, check_schema
from shipway.tester.api.jsonpaths import JsonPathError, find
from shipway.tester.api.requests import BuiltRequest, build_request
from shipway.tester.artifacts import clipped
from shipway.tester.kinds.interface import TestKind, TestKindError, TestTarget
from shipway.tester.references import References, UnresolvedReferenceError
from shipway.tester.results import CaseResult


class _Schemas:
    """JSON Schemas of `expect.schema`, read and checked once per run."""

    def __init__(self, target: TestTarget) -> None:
        self.target = target
        self._files: dict[str, Mapping[str, Any]] = {}

    def get(self, expect: ApiExpectation) -> Mapping[str, Any] | None:
        schema = expect.schema_
        if schema is None:
            return None
        if isinstance(schema, str):
            if schema not in self._files:
                self._files[schema] = self._read(schema)
            return self._files[schema]
        self._check(schema, "the inline schema")
        return schema

    def _read(self, relative: str) -> Mapping[str, Any]:
        path = self.target.inside(relative)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise TestKindError(f"cannot read JSON Schema {relative}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise TestKindError(f"JSON Schema {relative} is not a mapping")
        self._check(loaded, relative)
        return loaded

    @staticmethod
    def _check(schema: Mapping[str, Any], where: str) -> None:
        try:
            check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise TestKindError(f"{where} is not a valid JSON Schema: {exc.message}") from exc


class ApiKind(TestKind):
    name = "api"

    def describe(self, spec: IntegrationTestsSpec) -> str:
        groups = {test.group for test in spec.api}
        return f"{len(spec.api)} API checks in {len(groups)} group(s)"

    async def cases(
        self, spec: IntegrationTestsSpec, target: TestTarget
    ) -> AsyncIterator[CaseResult]:
        groups: dict[str, list[ApiTest]] = {}
        for test in spec.api:
            groups.setdefault(test.group, []).append(test)
        queue: asyncio.Queue[CaseResult | None] = asyncio.Queue()
        schemas = _Schemas(target)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        async with httpx.AsyncClient(follow_redirects=False, limits=limits) as client:
            runner = _GroupRunner(client, target, schemas, queue)
            tasks = [asyncio.create_task(runner.run(name, tests)) for name, tests in groups.items()]
            try:
                remaining = len(tasks)
                while remaining:
                    item = await queue.get()
                    if item is None:
                        remaining -= 1
                    else:
                        yield item
                await asyncio.gather(*tasks)
            finally:
                for task in tasks:
                    task.cancel()


class _GroupRunner:
    def __init__(
        self,
        client: httpx.AsyncClient,
        target: TestTarget,
        schemas: _Schemas,
        queue: asyncio.Queue[CaseResult | None],
    ) -> None:
        self.client = client
        self.target = target
        self.schemas = schemas
        self.queue = queue

    async def run(self, group: str, tests: list[ApiTest]) -> None:
        saved: dict[str, Any] = {}
        try:
            for test in tests:
                if self.target.cancel.is_set():
                    break
                refs = self.target.references.with_variables(saved)
                self.queue.put_nowait(await self.check(group, test, refs, saved))
        finally:
            self.queue.put_nowait(None)

    async def check(
        self, group: str, test: ApiTest, refs: References, saved: dict[str, Any]
    ) -> CaseResult:
        started = time.perf_counter()
        suite = f"api.{group}"
        attempts = test.retry.attempts if test.retry is not None else 1
        interval = float(test.retry.interval) if test.retry is not None else 0.0
        problems: list[str] = []
        observed: Observed | None = None
        request: BuiltRequest | None = None
        for attempt in range(1, attempts + 1):
            try:
                request = build_request(test.request, refs, self.target.base_url)
                schema = self.schemas.get(test.expect)
            except (UnresolvedReferenceError, TestKindError) as exc:
                return CaseResult("api", suite, test.name, "error", _since(started), str(exc))
            observed, problems, values = await self._attempt(test, request, schema, refs)
            if not problems:
                saved.update(values)
                return CaseResult(
                    "api",
                    suite,
                    test.name,
                    "passed",
                    _since(started),
                    properties=_properties(request, observed, attempt),
                )
            if attempt < attempts and not self.target.cancel.is_set():
                await asyncio.sleep(interval)
        assert request is not None
        artifact = self._keep(group, test, request, observed, problems, attempts)
        return CaseResult(
            "api",
            suite,
            test.name,
            "failed",
            _since(started),
            message=problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
            details="\n".join([f"{request.method} {request.url}", *problems]),
            artifacts=(artifact,),
            properties=_properties(request, observed, attempts),
        )

    async def _attempt(
        self,
        test: ApiTest,
        request: BuiltRequest,
        schema: Mapping[str, Any] | None,
        refs: References,
    ) -> tuple[Observed | None, list[str], dict[str, Any]]:
        try:
            observed = await self._send(request)
        except httpx.HTTPError as exc:
            return None, [f"no response: {type(exc).__name__}: {exc}".rstrip(": ")], {}
        try:
            problems = check_response(test.expect, observed, lambda: schema, refs.value)
        except (JsonPathError, UnresolvedReferenceError) as exc:
            return observed, [str(exc)], {}
        values: dict[str, Any] = {}
        for variable, expression in test.save.items():
            document = observed.document
            found = find(expression, document) if isinstance(document, dict | list) else []
            if not found:
                problems.append(f"save {variable}: {expression} selects nothing in the body")
            else:
                values[variable] = found[0]
        return observed, problems, values

    async def _send(self, request: BuiltRequest) -> Observed:
        started = time.perf_counter()
        response = await self.client.request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.content,
            timeout=request.timeout,
        )
        return Observed(
            status=response.status_code,
            headers=dict(response.headers),
            text=response.text,
            seconds=time.perf_counter() - started,
        )

    def _keep(
        self,
        group: str,
        test: ApiTest,
        request: BuiltRequest,
        observed: Observed | None,
        problems: list[str],
        attempts: int,
    ) -> str:
        redactor = self.target.references.redactor
        response = None
        if observed is not None:
            response = {
                **observed.report(),
                "headers": redactor.headers(observed.headers),
                "body": clipped(observed.text),
            }
        return self.target.artifacts.write_json(
            "api",
            f"{group}-{test.name}",
            {
                "test": test.name,
                "group": group,
                "attempts": attempts,
                "problems": problems,
                "request": request.report(redactor),
                "response": response,
            },
        )


def _since(started: float) -> float:
    return time.perf_counter() - started


def _properties(request: BuiltRequest, observed: Observed | None, attempts: int) -> dict[str, str]:
    properties = {"request": request.method + " " + request.url, "attempts": str(attempts)}
    if observed is not None:
        properties["status"] = str(observed.status)
        properties["latency_ms"] = f"{observed.seconds * 1000:.1f}"
    return properties
