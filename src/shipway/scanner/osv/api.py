"""The OSV API (https://google.github.io/osv.dev/api/), or any server speaking it.

`POST /v1/querybatch` answers up to 1,000 package versions per request with the ids of the
advisories affecting each (paged with `next_page_token`); `GET /v1/vulns/{id}` gives each
full record, which the nearest fixed version needs. Every request has a timeout;
connection errors, 429 and 5xx answers are retried a few times, then the scan fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx
import tenacity

from shipway import __version__
from shipway.scanner.osv.interface import Package, VulnerabilityService, VulnerabilityServiceError
from shipway.scanner.osv.matching import AffectedMatcher
from shipway.scanner.osv.records import Advisory, Affected, parse_advisory

DEFAULT_URL = "https://api.osv.dev"
BATCH_LIMIT = 1000
_MAX_PAGES = 100


class _Transient(Exception):
    """A failure worth another try: the connection, a timeout, 429 or a 5xx."""


class OsvApiService(VulnerabilityService):
    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = 30.0,
        batch_size: int = BATCH_LIMIT,
        attempts: int = 3,
        backoff: float = 0.5,
        fetchers: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.batch_size = min(max(batch_size, 1), BATCH_LIMIT)
        self.fetchers = fetchers
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_exponential(multiplier=backoff, max=10),
            retry=tenacity.retry_if_exception_type(_Transient),
            reraise=True,
        )

    def query(self, package: Package) -> list[AffectedMatcher]:
        return self.query_all([package])[package]

    def query_all(self, packages: Sequence[Package]) -> dict[Package, list[AffectedMatcher]]:
        unique = list(dict.fromkeys(packages))
        headers = {"User-Agent": f"shipway/{__version__}"}
        with httpx.Client(timeout=self._timeout, headers=headers) as client:
            ids = self._affecting_ids(client, unique)
            wanted = sorted({i for found in ids.values() for i in found})
            records = self._records(client, wanted)
        return {p: _matchers(p, [records[i] for i in ids[p]]) for p in unique}

    def _affecting_ids(
        self, client: httpx.Client, packages: list[Package]
    ) -> dict[Package, list[str]]:
        ids: dict[Package, list[str]] = {p: [] for p in packages}
        for start in range(0, len(packages), self.batch_size):
            pending = {p: "" for p in packages[start : start + self.batch_size]}
            for _page in range(_MAX_PAGES):
                if not pending:
                    break
                batch = list(pending)
                body = {"queries": [_query(p, pending[p]) for p in batch]}
                results = self._post(client, "/v1/querybatch", body).get("results")
                if not isinstance(results, list) or len(results) != len(batch):
                    raise VulnerabilityServiceError(
                        f"OSV API at {self.base_url}: querybatch answered "
                        f"{len(results) if isinstance(results, list) else 'no'} results "
                        f"for {len(batch)} queries"
                    )
                pending = {}
                for package, result in zip(batch, results, strict=True):
                    result = result if isinstance(result, dict) else {}
                    ids[package].extend(v["id"] for v in result.get("vulns") or [] if "id" in v)
                    if result.get("next_page_token"):
                        pending[package] = str(result["next_page_token"])
            else:
                raise VulnerabilityServiceError(
                    f"OSV API at {self.base_url}: more than {_MAX_PAGES} pages of results"
                )
        return {p: list(dict.fromkeys(found)) for p, found in ids.items()}

    def _records(self, client: httpx.Client, ids: list[str]) -> dict[str, Advisory]:
        if not ids:
            return {}

        def fetch(vuln_id: str) -> Advisory:
            data = self._call(client, "GET", f"/v1/vulns/{quote(vuln_id, safe='')}", None)
            try:
                return parse_advisory(data)
            except ValueError as e:
                raise VulnerabilityServiceError(
                    f"OSV API at {self.base_url}: record {vuln_id}: {e}"
                ) from e

        with ThreadPoolExecutor(min(self.fetchers, len(ids)), "osv-fetch") as pool:
            return dict(zip(ids, pool.map(fetch, ids), strict=True))

    def _post(self, client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call(client, "POST", path, body)

    def _call(
        self, client: httpx.Client, method: str, path: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        url = self.base_url + path
        try:
            return self._retrying(self._once, client, method, url, body)
        except _Transient as e:
            raise VulnerabilityServiceError(f"OSV API at {self.base_url}: {e}") from e

    def _once(
        self, client: httpx.Client, method: str, url: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        try:
            response = client.request(method, url, json=body)
        except httpx.TimeoutException as e:
            raise _Transient(f"{method} {url} timed out") from e
        except httpx.TransportError as e:
            raise _Transient(f"{method} {url} failed: {type(e).__name__}: {e}") from e
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"{method} {url} answered {response.status_code}")
        if response.status_code != 200:
            raise VulnerabilityServiceError(
                f"OSV API at {self.base_url}: {method} {url} answered {response.status_code}: "
                f"{response.text[:200]}"
            )
        try:
            data = response.json()
        except ValueError as e:
            raise VulnerabilityServiceError(f"OSV API at {self.base_url}: {url}: not JSON") from e
        if not isinstance(data, dict):
            raise VulnerabilityServiceError(f"OSV API at {self.base_url}: {url}: not an object")
        return data


def _query(package: Package, page_token: str) -> dict[str, Any]:
    query: dict[str, Any] = {
        "package": {"name": package.name, "ecosystem": package.ecosystem},
        "version": package.version,
    }
    if page_token:
        query["page_token"] = page_token
    return query


def _matchers(package: Package, advisories: list[Advisory]) -> list[AffectedMatcher]:
    """The API decided which advisories apply; each becomes a matcher over its entry for
    this package, used for alias merging and the nearest fix. Withdrawn ones are dropped."""
    out = []
    for advisory in advisories:
        if advisory.withdrawn:
            continue
        entries = [
            a
            for a in advisory.affected
            if (a.ecosystem, a.name) == (package.ecosystem, package.name)
        ]
        entry = entries[0] if entries else Affected(package.ecosystem, package.name, (), ())
        out.append(AffectedMatcher(advisory, entry))
    return out
