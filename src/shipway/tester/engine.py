"""Running the tests of a `tests` section against one URL: each selected kind in turn,
cases redacted and handed to the observer as they finish, one report at the end."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from shipway.errors import InputError
from shipway.manifest.testing import IntegrationTestsSpec
from shipway.tester.kinds.interface import TestKind, TestKindError, TestTarget
from shipway.tester.kinds.registry import ORDER, load_kind
from shipway.tester.redaction import Redactor
from shipway.tester.results import CaseResult, KindReport, RunReport

#: Python packages a kind may need, and the extra that brings them.
_EXTRA_HINT = "install them with: pip install 'shipway[testing]'"
_POLL = 0.05


def selected_kinds(spec: IntegrationTestsSpec, requested: list[str] | None) -> list[str]:
    """The kinds to run, in run order: those asked for, else every configured one."""
    if requested:
        unknown = [name for name in requested if name not in ORDER]
        if unknown:
            raise InputError(f"unknown test kind {unknown[0]!r} (one of: {', '.join(ORDER)})")
        return [name for name in ORDER if name in requested]
    # NOTE: decided from the section alone, so that planning imports no browser or fuzzer.
    return [name for name in ORDER if getattr(spec, name, None)]


async def run_tests(
    spec: IntegrationTestsSpec, target: TestTarget, kinds: list[str] | None = None
) -> RunReport:
    """Run the selected kinds (all configured ones by default) and report."""
    started = time.perf_counter()
    reports = []
    for name in selected_kinds(spec, kinds):
        if target.cancel.is_set():
            break
        reports.append(await _run_kind(load_kind(name), spec, target))
    return RunReport(
        target=target.base_url,
        kinds=tuple(reports),
        seconds=time.perf_counter() - started,
        artifacts_dir=str(target.artifacts.root),
    )


def run_tests_sync(
    spec: IntegrationTestsSpec,
    target: TestTarget,
    kinds: list[str] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> RunReport:
    """`run_tests` on a fresh event loop; once `cancelled()` is true the kinds stop at
    their next check of `target.cancel`."""

    async def watched() -> RunReport:
        task = asyncio.ensure_future(run_tests(spec, target, kinds))
        while not task.done():
            await asyncio.wait({task}, timeout=_POLL)
            if cancelled is not None and cancelled():
                target.cancel.set()
        return await task

    return asyncio.run(watched())


async def _run_kind(kind: TestKind, spec: IntegrationTestsSpec, target: TestTarget) -> KindReport:
    started = time.perf_counter()
    cases: list[CaseResult] = []
    redactor = target.references.redactor

    def finished(case: CaseResult) -> None:
        case = redact_case(case, redactor)
        cases.append(case)
        target.observer.case_finished(case)

    if not kind.configured(spec):
        finished(_case(kind.name, "skipped", f"no {kind.name} tests in the manifest"))
        return KindReport(kind.name, tuple(cases), time.perf_counter() - started)
    try:
        async for case in kind.cases(spec, target):
            finished(case)
    except TestKindError as exc:
        finished(_case(kind.name, "error", str(exc)))
    except ImportError as exc:
        missing = exc.name or str(exc)
        finished(_case(kind.name, "error", f"{kind.name} tests need {missing}: {_EXTRA_HINT}"))
    except Exception as exc:  # a crashing kind fails the gate with its reason
        finished(
            _case(kind.name, "error", f"{kind.name} tests crashed: {type(exc).__name__}: {exc}")
        )
    return KindReport(kind.name, tuple(cases), time.perf_counter() - started)


def _case(kind: str, status: Any, message: str) -> CaseResult:
    return CaseResult(kind=kind, suite=kind, name=kind, status=status, message=message)


def redact_case(case: CaseResult, redactor: Redactor) -> CaseResult:
    """The case with every secret value masked, in every field that is written out."""
    if not redactor:
        return case
    return replace(
        case,
        name=redactor.redact(case.name),
        message=redactor.redact(case.message),
        details=redactor.redact(case.details),
        properties={k: redactor.redact(v) for k, v in case.properties.items()},
        data=json.loads(redactor.redact(json.dumps(dict(case.data), default=str))),
    )
