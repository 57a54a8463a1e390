"""The online OSV service against a local HTTP server speaking the OSV API's shape
(`POST /v1/querybatch`, `GET /v1/vulns/{id}`, as documented at
https://google.github.io/osv.dev/api/). The server checks every request against that
shape and answers 400 otherwise, pages results when asked to, and can be slow or fail."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.scanner.engine import run_scan
from shipway.scanner.findings import Severity
from shipway.scanner.osv.api import OsvApiService
from shipway.scanner.osv.interface import Package, VulnerabilityServiceError
from shipway.scanner.scanners.dependencies import DependencyScanner
from shipway.scanner.scanners.interface import ScanTarget
from shipway.scanner.settings import ScanSettings

GHSA = {
    "id": "GHSA-v6wp-4m6f-gcjg",
    "summary": "Open redirect vulnerability in aiohttp",
    "details": "In aiohttp before version 3.7.4 there is an open redirect vulnerability.",
    "aliases": ["CVE-2021-21330"],
    "modified": "2024-09-24T20:53:41Z",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}],
    "affected": [
        {
            "package": {"name": "aiohttp", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.7.4"}]}],
        }
    ],
    "database_specific": {"severity": "MODERATE"},
}


@dataclass
class OsvServer:
    records: dict[str, dict[str, Any]]
    #: (ecosystem, name, version) -> ids affecting it.
    answers: dict[tuple[str, str, str], list[str]]
    page_size: int = 1000
    delay: float = 0.0
    failures: int = 0
    batches: list[int] = field(default_factory=list)
    page_tokens: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    url: str = ""


def _bad_query(query: Any) -> str | None:
    if not isinstance(query, dict) or set(query) - {"package", "version", "commit", "page_token"}:
        return "unknown field in query"
    package = query.get("package")
    if not isinstance(package, dict) or set(package) - {"name", "ecosystem", "purl"}:
        return "package must be an object with name and ecosystem"
    if not isinstance(package.get("name"), str) or not isinstance(package.get("ecosystem"), str):
        return "package.name and package.ecosystem are strings"
    if not isinstance(query.get("version"), str):
        return "version is a string"
    return None


def _handler(server: OsvServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _gate(self) -> bool:
            time.sleep(server.delay)
            if server.failures:
                server.failures -= 1
                self._send(503, {"code": 14, "message": "unavailable"})
                return False
            return True

        def do_POST(self) -> None:
            if self.path != "/v1/querybatch":
                self._send(404, {"code": 5, "message": "not found"})
                return
            if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                self._send(400, {"code": 3, "message": "JSON body expected"})
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            queries = body.get("queries") if isinstance(body, dict) else None
            if not isinstance(queries, list) or not 0 < len(queries) <= 1000:
                self._send(400, {"code": 3, "message": "1 to 1000 queries"})
                return
            problems = [p for p in map(_bad_query, queries) if p]
            if problems:
                self._send(400, {"code": 3, "message": problems[0]})
                return
            if not self._gate():
                return
            server.batches.append(len(queries))
            results = []
            for query in queries:
                key = (query["package"]["ecosystem"], query["package"]["name"], query["version"])
                found = server.answers.get(key, [])
                start = int(query.get("page_token") or 0)
                if query.get("page_token"):
                    server.page_tokens.append(query["page_token"])
                page = found[start : start + server.page_size]
                result: dict[str, Any] = {}
                if page:
                    result["vulns"] = [{"id": i, "modified": "2024-01-01T00:00:00Z"} for i in page]
                if start + server.page_size < len(found):
                    result["next_page_token"] = str(start + server.page_size)
                results.append(result)
            self._send(200, {"results": results})

        def do_GET(self) -> None:
            prefix = "/v1/vulns/"
            if not self.path.startswith(prefix):
                self._send(404, {"code": 5, "message": "not found"})
                return
            if not self._gate():
                return
            vuln_id = self.path[len(prefix) :]
            server.fetched.append(vuln_id)
            record = server.records.get(vuln_id)
            if record is None:
                self._send(404, {"code": 5, "message": "Bug not found."})
            else:
                self._send(200, record)

    return Handler


@pytest.fixture
def osv_server(snapshot: Path) -> Iterator[OsvServer]:
    pysec = yaml.safe_load((snapshot / "aiohttp" / "PYSEC-2021-76.yaml").read_text())
    pysec = json.loads(json.dumps(pysec, default=str))
    second = yaml.safe_load((snapshot / "aiohttp" / "PYSEC-2023-120.yaml").read_text())
    second = json.loads(json.dumps(second, default=str))
    state = OsvServer(
        records={r["id"]: r for r in (pysec, GHSA, second)},
        answers={
            ("PyPI", "aiohttp", "3.7.3"): [
                "PYSEC-2021-76",
                "GHSA-v6wp-4m6f-gcjg",
                "PYSEC-2023-120",
            ],
        },
    )
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_scan_through_the_api_merges_pysec_and_ghsa(tmp_path: Path, osv_server: OsvServer) -> None:
    (tmp_path / "requirements.txt").write_text("aiohttp==3.7.3\nsafe-package==1.0\n")
    settings = ScanSettings(scanners=("dependencies",), vulnerability_db=osv_server.url)
    report = run_scan(ScanTarget(tmp_path, vulnerability_db=osv_server.url), settings)
    by_id = {f.id: f for f in report.findings}
    assert set(by_id) == {"PYSEC-2021-76", "PYSEC-2023-120"}
    merged = by_id["PYSEC-2021-76"]
    assert {"GHSA-v6wp-4m6f-gcjg", "CVE-2021-21330"} <= set(merged.aliases)
    # The GHSA record's CVSS (6.1) rates the merged finding; the PYSEC one has none.
    assert merged.severity is Severity.MEDIUM
    assert merged.properties["cvss_score"] == "6.1"
    assert merged.properties["fixed_version"] == "3.7.4"
    assert osv_server.batches == [2]
    assert sorted(osv_server.fetched) == sorted(osv_server.records)


def test_queries_are_batched_by_a_thousand(osv_server: OsvServer) -> None:
    packages = [Package("PyPI", f"pkg-{i}", "1.0") for i in range(1500)]
    packages.append(Package("PyPI", "aiohttp", "3.7.3"))
    result = OsvApiService(osv_server.url).query_all(packages)
    assert osv_server.batches == [1000, 501]
    assert {m.advisory.id for m in result[packages[-1]]} == set(osv_server.records)
    assert all(result[p] == [] for p in packages[:-1])


def test_pages_are_followed(osv_server: OsvServer) -> None:
    osv_server.page_size = 1
    package = Package("PyPI", "aiohttp", "3.7.3")
    result = OsvApiService(osv_server.url).query_all([package])
    assert {m.advisory.id for m in result[package]} == set(osv_server.records)
    assert osv_server.page_tokens == ["1", "2"]


def test_transient_failures_are_retried(osv_server: OsvServer) -> None:
    osv_server.failures = 2
    package = Package("PyPI", "aiohttp", "3.7.3")
    result = OsvApiService(osv_server.url, attempts=3, backoff=0.01).query_all([package])
    assert len(result[package]) == 3


def test_a_server_that_keeps_failing_fails_the_scan(osv_server: OsvServer) -> None:
    osv_server.failures = 10
    service = OsvApiService(osv_server.url, attempts=2, backoff=0.01)
    with pytest.raises(VulnerabilityServiceError, match="answered 503"):
        service.query_all([Package("PyPI", "aiohttp", "3.7.3")])


def test_every_request_has_a_timeout(tmp_path: Path, osv_server: OsvServer) -> None:
    osv_server.delay = 1.5
    (tmp_path / "requirements.txt").write_text("aiohttp==3.7.3\n")
    scanner = DependencyScanner(OsvApiService(osv_server.url, timeout=0.3, attempts=1))
    start = time.monotonic()
    with pytest.raises(VulnerabilityServiceError, match="timed out"):
        list(scanner.scan(ScanTarget(tmp_path)))
    assert time.monotonic() - start < 1.4


def test_unreachable_server_is_a_scanner_error() -> None:
    service = OsvApiService("http://127.0.0.1:9", timeout=1, attempts=1)
    with pytest.raises(VulnerabilityServiceError, match="failed"):
        service.query_all([Package("PyPI", "aiohttp", "3.7.3")])
