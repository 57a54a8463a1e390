"""The `services` kind: each database, cache or TCP endpoint the release depends on
accepts a connection and answers a trivial query (`SELECT 1`, `PING`). Checks run in
parallel; passwords in URLs are masked in every message."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from shipway.manifest.testing import IntegrationTestsSpec, ServiceCheck
from shipway.tester.kinds.interface import TestKind, TestTarget
from shipway.tester.references import UnresolvedReferenceError
from shipway.tester.results import CaseResult


class ServicesKind(TestKind):
    name = "services"

    def describe(self, spec: IntegrationTestsSpec) -> str:
        return f"{len(spec.services)} service checks"

    async def cases(
        self, spec: IntegrationTestsSpec, target: TestTarget
    ) -> AsyncIterator[CaseResult]:
        for task in asyncio.as_completed([_run(check, target) for check in spec.services]):
            yield await task


async def _run(check: ServiceCheck, target: TestTarget) -> CaseResult:
    started = time.perf_counter()
    kind, raw = _what(check)
    try:
        address = target.references.text(raw)
    except UnresolvedReferenceError as exc:
        return _case(check, kind, "error", str(exc), started)
    password = urlsplit(address).password if kind != "tcp" else None
    if password:
        target.references.redactor.add(password)
    timeout = float(check.timeout)
    try:
        async with asyncio.timeout(timeout):
            detail = await _PROBES[kind](address, timeout)
    except TimeoutError:
        return _case(check, kind, "failed", f"no answer within {check.timeout.text}", started)
    except Exception as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return _case(check, kind, "failed", f"{type(exc).__name__}: {reason}", started)
    return _case(check, kind, "passed", detail, started)


def _what(check: ServiceCheck) -> tuple[str, str]:
    for kind in ("tcp", "postgres", "redis"):
        value = getattr(check, kind)
        if value is not None:
            return kind, str(value)
    raise AssertionError("the model requires one of tcp, postgres, redis")


async def _tcp(address: str, timeout: float) -> str:
    host, _, port = address.rpartition(":")
    _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    writer.close()
    await writer.wait_closed()
    return f"{address} accepts connections"


async def _postgres(url: str, timeout: float) -> str:
    import psycopg

    async with await psycopg.AsyncConnection.connect(
        url, connect_timeout=max(1, int(timeout)), autocommit=True
    ) as conn:
        cursor = await conn.execute("SELECT 1")
        row = await cursor.fetchone()
        version = conn.info.server_version
    if row != (1,):
        raise RuntimeError(f"SELECT 1 answered {row!r}")
    return f"SELECT 1 answered (server {version // 10000}.{version % 10000})"


async def _redis(url: str, timeout: float) -> str:
    import redis.asyncio

    client = redis.asyncio.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        answer = await client.ping()
    finally:
        await client.aclose()
    if answer is not True:
        raise RuntimeError(f"PING answered {answer!r}")
    return "PING answered PONG"


_PROBES = {"tcp": _tcp, "postgres": _postgres, "redis": _redis}


def _case(check: ServiceCheck, kind: str, status: str, message: str, started: float) -> CaseResult:
    return CaseResult(
        kind="services",
        suite="services",
        name=check.name,
        status="passed" if status == "passed" else ("error" if status == "error" else "failed"),
        seconds=time.perf_counter() - started,
        message=message,
        properties={"check": kind},
    )
