"""Reading from an existing Prometheus (`monitoring.prometheus_url`) through its HTTP API
(/api/v1/query and /api/v1/query_range), with a timeout, so the query functions answer the
same whether the data lives there or in shipway's store."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx

from shipway.errors import InputError, ShipwayError
from shipway.monitor.promql.ast import Matcher
from shipway.monitor.promql.parser import parse
from shipway.monitor.promql.printer import to_text, with_matchers

TIMEOUT_S = 30.0


class PrometheusError(ShipwayError):
    """The Prometheus server could not be reached or answered with an error."""


class PrometheusClient:
    """Instant and range queries against one Prometheus server."""

    def __init__(self, url: str, *, timeout: float = TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def instant(
        self, expr: str, at: float, matchers: Mapping[str, str] | None = None
    ) -> list[tuple[dict[str, str], float]]:
        data = self._get("/api/v1/query", {"query": _expr(expr, matchers), "time": f"{at:.3f}"})
        if data["resultType"] == "scalar":
            return [({}, _float(data["result"][1]))]
        return [(dict(item["metric"]), _float(item["value"][1])) for item in data["result"]]

    def range(
        self,
        expr: str,
        start: float,
        end: float,
        step: float,
        matchers: Mapping[str, str] | None = None,
    ) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
        params = {
            "query": _expr(expr, matchers),
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": f"{step:.3f}",
        }
        data = self._get("/api/v1/query_range", params)
        return [
            (dict(item["metric"]), [(float(t), _float(v)) for t, v in item["values"]])
            for item in data["result"]
        ]

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            response = httpx.get(self.url + path, params=params, timeout=self.timeout)
            body = response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise PrometheusError(f"Prometheus at {self.url}: {type(e).__name__}: {e}") from e
        if body.get("status") != "success":
            message = f"Prometheus at {self.url}: {body.get('error', response.status_code)}"
            if body.get("errorType") == "bad_data":
                raise InputError(message)
            raise PrometheusError(message)
        data = body["data"]
        assert isinstance(data, dict)
        return data


def _expr(expr: str, matchers: Mapping[str, str] | None) -> str:
    """`expr` checked by shipway's parser (the same subset either way), with `matchers`."""
    tree = parse(expr)
    if not matchers:
        return expr
    extra = tuple(Matcher(k, "=", v) for k, v in matchers.items())
    return to_text(with_matchers(tree, extra))


def _float(text: str) -> float:
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    return float(text)
