"""Running checks: every check on every host at once, each under its own timeout.

`validate` is the entry point for an environment: it builds the checks its `requirements:`
ask for, picks the hosts (this machine, or each of `hosts:` over SSH), runs them and returns
a `ValidationReport`. The report is data; printing it is the CLI's business.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.validator.hosts import Host, LocalHost
from shipway.validator.interface import Check, CheckError, CheckResult
from shipway.validator.registry import CheckScope, registry
from shipway.validator.ssh import SshHost


@dataclass(frozen=True)
class ValidationReport:
    """Every result, host by host, in the order the manifest names the checks."""

    results: tuple[CheckResult, ...]
    hosts: tuple[str, ...]
    seconds: float

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.results if result.status == "fail"]

    @property
    def passed(self) -> bool:
        """True when no required check failed (warnings do not count)."""
        return not self.failures

    @property
    def remote(self) -> bool:
        return any(host != "local" for host in self.hosts)

    def counts(self) -> dict[str, int]:
        counts = {"pass": 0, "warn": 0, "fail": 0}
        for result in self.results:
            counts[result.status] += 1
        return counts

    def facts(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Observed facts by host, then by check: what later stages may use."""
        facts: dict[str, dict[str, dict[str, Any]]] = {host: {} for host in self.hosts}
        for result in self.results:
            if result.facts:
                facts.setdefault(result.host, {})[result.check] = dict(result.facts)
        return facts

    def summary(self) -> str:
        counts = self.counts()
        warnings = "warning" if counts["warn"] == 1 else "warnings"
        text = f"{counts['pass']} passed, {counts['warn']} {warnings}, {counts['fail']} failed"
        if self.remote:
            text += f" on {len(self.hosts)} host" + ("s" if len(self.hosts) > 1 else "")
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": self.counts(),
            "hosts": list(self.hosts),
            "seconds": round(self.seconds, 3),
            "results": [result.to_dict() for result in self.results],
        }


async def _guarded(check: Check, host: Host) -> CheckResult:
    try:
        return await check.run(host)
    except Exception as e:  # a bug in one check must not hide the others' results
        return CheckResult(
            check.name,
            check.family,
            check.expected,
            f"internal error: {type(e).__name__}: {e}",
            "fail",
            "please report this",
            host.label,
            check.required,
        )


async def _connect(host: Host) -> CheckResult | None:
    try:
        await host.connect()
    except CheckError as e:
        return CheckResult("ssh", "host", "connected", e.message, "fail", e.remedy, host.label)
    return None


async def run_checks(checks: Sequence[Check], hosts: Sequence[Host]) -> ValidationReport:
    """Run every check on every host concurrently. A host that cannot be reached gets one
    failed `ssh` row instead of its checks."""
    started = time.perf_counter()
    refused = await asyncio.gather(*(_connect(host) for host in hosts))
    try:
        runs: list[asyncio.Future[CheckResult]] = []
        for host, problem in zip(hosts, refused, strict=True):
            if problem is not None:
                runs.append(_done(problem))
                continue
            runs.extend(asyncio.ensure_future(_guarded(check, host)) for check in checks)
        results = await asyncio.gather(*runs)
    finally:
        await asyncio.gather(*(host.close() for host in hosts), return_exceptions=True)
    return ValidationReport(
        tuple(results), tuple(host.label for host in hosts), time.perf_counter() - started
    )


def _done(result: CheckResult) -> asyncio.Future[CheckResult]:
    future: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()
    future.set_result(result)
    return future


def hosts_for(
    environment: ResolvedEnvironment, base_dir: Path, *, ssh_config: Sequence[Path] = ()
) -> list[Host]:
    """The hosts an environment runs on: each of `hosts:` for target ssh, else this one."""
    if environment.spec.target == "ssh" and environment.spec.hosts:
        return [SshHost(url, config=ssh_config) for url in environment.spec.hosts]
    return [LocalHost(base_dir)]


async def validate(
    loaded: LoadedManifest,
    environment: ResolvedEnvironment,
    *,
    home: Path,
    own_pids: frozenset[int] = frozenset(),
    hosts: Sequence[Host] | None = None,
) -> ValidationReport:
    """Check `environment`'s requirements on its hosts."""
    base_dir = loaded.path.parent.resolve()
    scope = CheckScope(
        base_dir=base_dir, home=home, services=environment.services, own_pids=own_pids
    )
    checks = registry.build(environment.requirements, scope)
    chosen = list(hosts) if hosts is not None else hosts_for(environment, base_dir)
    return await run_checks(checks, chosen)
