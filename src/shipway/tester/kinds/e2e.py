"""The `e2e` kind: browser scenarios in Debian's Chromium through Playwright, headless.

Declarative scenarios run in one browser, each in a fresh context (no shared cookies),
traced; on a failure the page is photographed and the trace kept, so the failing step
can be replayed in `playwright show-trace`. Scenarios that type a secret are not traced
(a trace records what was typed). `pytest:` scenarios run pytest-playwright in a
subprocess with the same browser, one case per test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from shipway.manifest.testing import E2EStep, E2ETest, IntegrationTestsSpec
from shipway.tester.artifacts import slug
from shipway.tester.kinds.e2e_plugin import FLAGS, chromium_path
from shipway.tester.kinds.interface import TestKind, TestKindError, TestTarget
from shipway.tester.references import UnresolvedReferenceError
from shipway.tester.results import CaseResult

#: How long a pytest-playwright file may run in all.
PYTEST_TIMEOUT = 600.0
LAUNCH_TIMEOUT_MS = 30_000


class E2EKind(TestKind):
    name = "e2e"

    def describe(self, spec: IntegrationTestsSpec) -> str:
        return f"{len(spec.e2e)} browser scenarios in headless Chromium"

    async def cases(
        self, spec: IntegrationTestsSpec, target: TestTarget
    ) -> AsyncIterator[CaseResult]:
        base = target.require_url(self.name)
        executable = chromium_path()
        if not Path(executable).exists():
            raise TestKindError(
                f"e2e tests need Chromium at {executable} (apt-get install chromium)"
            )
        declarative = [scenario for scenario in spec.e2e if scenario.pytest is None]
        if declarative:
            from playwright.async_api import async_playwright

            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=executable,
                    headless=True,
                    args=list(FLAGS),
                    timeout=LAUNCH_TIMEOUT_MS,
                )
                try:
                    for scenario in declarative:
                        if target.cancel.is_set():
                            return
                        yield await _Scenario(scenario, base, target).run(browser)
                finally:
                    await browser.close()
        for scenario in spec.e2e:
            if scenario.pytest is not None and not target.cancel.is_set():
                for case in await asyncio.to_thread(_pytest_file, scenario, base, target):
                    yield case


def step_text(step: E2EStep) -> str:
    """A step as the manifest wrote it, for messages."""
    data = step.model_dump(exclude_none=True)
    ((action, value),) = data.items()
    return f"{action}: {json.dumps(value) if not isinstance(value, str) else value}"


def _url_pattern(expected: str, base: str) -> re.Pattern[str]:
    full = base + expected if expected.startswith("/") else expected
    return re.compile("^" + ".*".join(re.escape(part) for part in full.split("*")) + "$")


class _Scenario:
    def __init__(self, scenario: E2ETest, base: str, target: TestTarget) -> None:
        self.scenario = scenario
        self.base = base
        self.target = target
        self.shots: list[str] = []
        # NOTE: a trace records typed text; a scenario that types a secret keeps none.
        self.traced = "${secret:" not in scenario.model_dump_json()

    async def run(self, browser: Any) -> CaseResult:
        from playwright.async_api import Error as PlaywrightError

        started = time.perf_counter()
        context = await browser.new_context(base_url=self.base)
        if self.traced:
            await context.tracing.start(screenshots=True, snapshots=True)
        page = await context.new_page()
        page.set_default_timeout(float(self.scenario.timeout) * 1000)
        number = 0
        try:
            for step in self.scenario.steps:
                number += 1
                await self._perform(page, step)
        except (PlaywrightError, AssertionError, UnresolvedReferenceError) as exc:
            return await self._failed(context, page, number, exc, started)
        finally:
            if not self.traced or page.is_closed():
                await context.close()
        if self.traced:
            await context.tracing.stop()
        await context.close()
        return self._case("passed", started, artifacts=tuple(self.shots))

    async def _perform(self, page: Any, step: E2EStep) -> None:
        from playwright.async_api import expect

        text = self.target.references.text
        timeout = float(self.scenario.timeout) * 1000
        if step.goto is not None:
            response = await page.goto(text(step.goto))
            if response is not None and response.status >= 400:
                raise AssertionError(f"{response.url} answered {response.status}")
        elif step.click is not None:
            await page.click(step.click)
        elif step.fill is not None:
            await page.fill(step.fill.selector, text(step.fill.value))
        elif step.select is not None:
            await page.select_option(step.select.selector, text(step.select.value))
        elif step.press is not None:
            if step.press.selector is not None:
                await page.press(step.press.selector, step.press.key)
            else:
                await page.keyboard.press(step.press.key)
        elif step.expect_text is not None:
            await expect(page.locator("body")).to_contain_text(
                text(step.expect_text), timeout=timeout
            )
        elif step.expect_url is not None:
            pattern = _url_pattern(text(step.expect_url), self.base)
            await expect(page).to_have_url(pattern, timeout=timeout)
        elif step.screenshot is not None:
            path = self.target.artifacts.path(
                "e2e", f"{self.scenario.name}-{step.screenshot}", ".png"
            )
            await page.screenshot(path=str(path), full_page=True)
            self.shots.append(str(path))

    async def _failed(
        self, context: Any, page: Any, number: int, exc: Exception, started: float
    ) -> CaseResult:
        from playwright.async_api import Error as PlaywrightError

        store = self.target.artifacts
        kept = list(self.shots)
        shot = store.path("e2e", f"{self.scenario.name}-failure", ".png")
        # The page may be gone (a crashed tab): keep what there is.
        with contextlib.suppress(PlaywrightError):
            await page.screenshot(path=str(shot), full_page=True)
            kept.append(str(shot))
        if self.traced:
            trace = store.path("e2e", f"{self.scenario.name}-trace", ".zip")
            await context.tracing.stop(path=str(trace))
            kept.append(str(trace))
        await context.close()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        step = self.scenario.steps[number - 1]
        message = f"step {number} ({step_text(step)}): {first}"
        return self._case("failed", started, message, str(exc), tuple(kept))

    def _case(
        self,
        status: Any,
        started: float,
        message: str = "",
        details: str = "",
        artifacts: tuple[str, ...] = (),
    ) -> CaseResult:
        return CaseResult(
            kind="e2e",
            suite="e2e",
            name=self.scenario.name,
            status=status,
            seconds=time.perf_counter() - started,
            message=message,
            details=details,
            artifacts=artifacts,
            properties={"trace": "on" if self.traced else "off: the scenario types a secret"},
        )


def _pytest_file(scenario: E2ETest, base: str, target: TestTarget) -> list[CaseResult]:
    """Run a pytest-playwright file with the system browser; its tests as cases."""
    assert scenario.pytest is not None
    path = target.inside(scenario.pytest)
    out = target.artifacts.root / "e2e" / slug(scenario.name)
    out.mkdir(parents=True, exist_ok=True)
    junit = out / "pytest-junit.xml"
    command = [
        sys.executable, "-m", "pytest", str(path),
        # NOTE: pytest-playwright is loaded explicitly, before our plugin, so that our
        # `browser_type_launch_args` wraps its own (the later plugin's fixture wins).
        "-p", "no:playwright", "-p", "pytest_playwright.pytest_playwright",
        "-p", "shipway.tester.kinds.e2e_plugin", "-p", "no:cacheprovider",
        "--base-url", base, "--junitxml", str(junit), "--output", str(out / "results"),
        "--tracing", "retain-on-failure", "--screenshot", "only-on-failure",
        "-o", "addopts=", "-q",
    ]  # fmt: skip
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=target.base_dir,
            capture_output=True,
            text=True,
            timeout=PYTEST_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TestKindError(f"{scenario.pytest} ran longer than {PYTEST_TIMEOUT:.0f}s") from exc
    if not junit.exists():
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        raise TestKindError(f"{scenario.pytest} did not run: {' / '.join(tail)}")
    return _junit_cases(junit, scenario, out / "results", time.perf_counter() - started)


def _junit_cases(junit: Path, scenario: E2ETest, results: Path, seconds: float) -> list[CaseResult]:
    cases = []
    # The file was written by our own pytest run just now.
    for element in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314
        name = element.get("name", "test")
        status: Any = "passed"
        message = details = ""
        for tag, meaning in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            found = element.find(tag)
            if found is not None:
                status = meaning
                lines = (found.get("message") or "").strip().splitlines()
                message = lines[0] if lines else meaning
                details = (found.text or "").strip()
                break
        folder = results / slug_pytest(element.get("classname", ""), name)
        artifacts = tuple(sorted(str(p) for p in folder.glob("*"))) if folder.is_dir() else ()
        cases.append(
            CaseResult(
                kind="e2e",
                suite=f"e2e.{scenario.name}",
                name=name,
                status=status,
                seconds=float(element.get("time", "0") or 0),
                message=message,
                details=details,
                artifacts=artifacts,
            )
        )
    if not cases:
        cases.append(
            CaseResult(
                "e2e", f"e2e.{scenario.name}", scenario.name, "error", seconds, "no tests ran"
            )
        )
    return cases


def slug_pytest(classname: str, name: str) -> str:
    """The folder pytest-playwright keeps a test's artifacts in (its own slug rules)."""
    raw = f"{classname.replace('.', '/')}.py::{name}" if classname else name
    return re.sub(r"[^a-zA-Z0-9]+", "-", raw).strip("-").lower()
