"""The engine: checks run at once, each under its own timeout; one broken check does not
hide the others; references resolved later are not checked now."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from shipway.validator import Check, LocalHost, Observation, run_checks
from shipway.validator.hosts import Host

from .conftest import listening, only, silent_port, validate_body


def test_silent_ports_time_out_together_not_one_after_another(tmp_path: Path) -> None:
    with silent_port() as port:
        body = "requirements:\n  network:\n" + "".join(
            f"    - tcp: 127.0.0.1:{port}\n      timeout: 500ms\n" for _ in range(12)
        )
        started = time.perf_counter()
        report = validate_body(tmp_path, body)
        took = time.perf_counter() - started
    assert [r.observed for r in report.results] == ["no answer within 500ms"] * 12
    # One after another would take 6 s; at once, one timeout plus overhead.
    assert took < 3.0, took


def test_each_check_has_its_own_timeout(tmp_path: Path) -> None:
    with silent_port() as silent, listening() as open_port:
        body = f"""requirements:
  network:
    - tcp: 127.0.0.1:{silent}
      timeout: 300ms
    - tcp: 127.0.0.1:{silent}
      timeout: 1s
    - tcp: 127.0.0.1:{open_port}
      timeout: 300ms
"""
        short, long, reachable = validate_body(tmp_path, body).results
    assert short.observed == "no answer within 300ms" and 0.25 < short.seconds < 0.8
    assert long.observed == "no answer within 1s" and 0.95 < long.seconds < 1.5
    assert reachable.status == "pass"


class BrokenCheck(Check):
    family = "software"

    async def observe(self, host: Host) -> Observation:
        raise KeyError("a bug")


class SlowCheck(Check):
    family = "software"

    async def observe(self, host: Host) -> Observation:
        await asyncio.sleep(0.05)
        return Observation("fine", facts={"n": 1})


def test_a_broken_check_is_a_failed_row_not_a_crash(tmp_path: Path) -> None:
    checks = [BrokenCheck("broken", "works"), SlowCheck("slow", "fine")]
    report = asyncio.run(run_checks(checks, [LocalHost(tmp_path)]))
    broken, slow = report.results
    assert broken.status == "fail" and broken.observed == "internal error: KeyError: 'a bug'"
    assert slow.status == "pass" and report.facts() == {"local": {"slow": {"n": 1}}}
    assert not report.passed and report.counts() == {"pass": 1, "warn": 0, "fail": 1}


def test_a_reference_is_not_checked_before_it_is_resolved(tmp_path: Path) -> None:
    body = "requirements:\n  network:\n    - tcp: ${db_host}:5432\n"
    report = validate_body(tmp_path, body)
    result = only(report)
    assert result.status == "warn" and "${...} reference" in result.observed
    assert report.passed


def test_results_keep_the_manifest_order(tmp_path: Path) -> None:
    body = """requirements:
  hardware: {cpus: 1}
  software:
    - python_package: pytest
  network:
    - dns: localhost
  security:
    - env: PATH
"""
    report = validate_body(tmp_path, body)
    assert [r.family for r in report.results] == ["hardware", "software", "network", "security"]
    assert report.summary() == "4 passed, 0 warnings, 0 failed"
