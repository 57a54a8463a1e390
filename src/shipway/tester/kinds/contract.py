"""The `contract` kind: property-based tests of the service against its OpenAPI document,
with schemathesis used as a library. For each operation a bounded number of generated
requests (`max_examples`) must get documented status codes, responses that match their
schemas and content types, and never a 5xx. Only operations of `methods` run (reads by
default: generated writes would land in the release's real data). `headers` and `auth`
go with every request; credentials are masked in every message and report.

NOTE: generation is derandomized: the same document and service give the same requests
on every run, so a deployment gate is not flaky. Failing examples are not shrunk (the
gate needs a verdict in bounded time); schemathesis' report includes a curl line to
reproduce each one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from shipway.manifest.testing import ContractTests, IntegrationTestsSpec
from shipway.tester.api.requests import auth_header
from shipway.tester.kinds.interface import TestKind, TestKindError, TestTarget
from shipway.tester.kinds.threads import Emit, cases_from_thread
from shipway.tester.references import UnresolvedReferenceError
from shipway.tester.results import CaseResult

#: One request of a contract test may take this long.
REQUEST_TIMEOUT = 10.0
_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)


class _Cancelled(Exception):
    pass


class ContractKind(TestKind):
    name = "contract"

    def describe(self, spec: IntegrationTestsSpec) -> str:
        assert spec.contract is not None
        methods = "/".join(spec.contract.methods)
        return (
            f"contract tests of {spec.contract.openapi}: {methods} operations, "
            f"{spec.contract.max_examples} examples each"
        )

    def cases(self, spec: IntegrationTestsSpec, target: TestTarget) -> AsyncIterator[CaseResult]:
        assert spec.contract is not None
        document = target.inside(spec.contract.openapi)
        base_url = target.require_url(self.name)
        examples = spec.contract.max_examples
        methods = frozenset(spec.contract.methods)
        try:
            headers = _headers(spec.contract, target)
        except UnresolvedReferenceError as exc:
            raise TestKindError(f"contract headers: {exc}") from exc
        return cases_from_thread(
            lambda emit: _run(document, base_url, examples, methods, headers, target, emit)
        )


def _headers(contract: ContractTests, target: TestTarget) -> dict[str, str]:
    refs = target.references
    headers = {name: refs.text(value) for name, value in contract.headers.items()}
    if contract.auth is not None:
        headers["Authorization"] = auth_header(contract.auth, refs)
    return headers


def _run(
    document: Path,
    base_url: str,
    examples: int,
    methods: frozenset[str],
    headers: dict[str, str],
    target: TestTarget,
    emit: Emit,
) -> None:
    import requests
    import schemathesis
    from hypothesis.configuration import set_hypothesis_home_dir
    from schemathesis import checks

    # Hypothesis keeps caches in a folder; it must not be the agent's working directory.
    set_hypothesis_home_dir(str(target.cache_dir / "hypothesis"))
    if not document.is_file():
        raise TestKindError(f"OpenAPI document {document} does not exist")
    try:
        schema = schemathesis.openapi.from_path(document)
    except Exception as exc:
        raise TestKindError(f"cannot load OpenAPI document {document}: {exc}") from exc
    selected = [getattr(checks, name) for name in _CHECKS]
    with requests.Session() as session:
        for result in schema.get_all_operations():
            if target.cancel.is_set():
                return
            unwrap: Any = getattr(result, "ok", None)  # Ok(operation) or Err(problem)
            if unwrap is None:
                emit(_case("schema", "error", f"invalid operation: {result.err()}"))  # type: ignore[union-attr]
                continue
            operation = unwrap()
            if str(operation.method).upper() not in methods:
                continue
            case = _operation(operation, base_url, examples, selected, session, headers, target)
            redactor = target.references.redactor
            emit(
                replace(
                    case,
                    message=redactor.redact(case.message),
                    details=redactor.redact(case.details),
                )
            )


def _operation(
    operation: Any,
    base_url: str,
    examples: int,
    selected: list[Any],
    session: Any,
    headers: dict[str, str],
    target: TestTarget,
) -> CaseResult:
    import requests
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.errors import FailureGroup

    started = time.perf_counter()
    sent = [0]

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
        print_blob=False,
    )
    @given(operation.as_strategy())
    def check(case: Any) -> None:
        if target.cancel.is_set():
            raise _Cancelled
        sent[0] += 1
        case.call_and_validate(
            base_url=base_url,
            session=session,
            headers=headers or None,
            checks=selected,
            timeout=REQUEST_TIMEOUT,
        )

    label = str(operation.label)
    try:
        check()
    except FailureGroup as group:
        titles = sorted({failure.title for failure in group.exceptions})
        details = str(group).strip()
        return _case(label, "failed", "; ".join(titles), details, started, sent[0])
    except requests.RequestException as exc:
        message = f"no response: {type(exc).__name__}: {exc}"
        return _case(label, "failed", message, message, started, sent[0])
    except _Cancelled:
        return _case(label, "skipped", "cancelled", "", started, sent[0])
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}".strip()
        return _case(label, "error", message.splitlines()[0], message, started, sent[0])
    return _case(label, "passed", "", "", started, sent[0])


def _case(
    label: str,
    status: Any,
    message: str,
    details: str = "",
    started: float | None = None,
    sent: int = 0,
) -> CaseResult:
    return CaseResult(
        kind="contract",
        suite="contract",
        name=label,
        status=status,
        seconds=0.0 if started is None else time.perf_counter() - started,
        message=message,
        details=details,
        properties={"requests": str(sent)},
    )
