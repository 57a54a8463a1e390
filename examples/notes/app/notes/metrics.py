"""Prometheus metrics: request counts and latencies per route, and the number of notes.

Each application instance owns its registry, so that several apps in one process (tests)
do not collide in prometheus_client's global one.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from notes.observation import RequestRecord


class Metrics:
    """The application's metrics and their text exposition."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests served, by method, route template and status code.",
            ["method", "path", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time from receiving an HTTP request to sending the last byte of the response.",
            ["method", "path"],
            registry=self.registry,
        )
        self.notes = Gauge(
            "notes_total",
            "Notes in the database when the metrics were scraped (NaN: database down).",
            registry=self.registry,
        )

    def observe(self, record: RequestRecord) -> None:
        """Count one finished request (an `Observer` for ObservationMiddleware)."""
        self.requests.labels(record.method, record.route, str(record.status)).inc()
        self.duration.labels(record.method, record.route).observe(record.duration_seconds)

    def render(self, notes_count: int | None) -> bytes:
        """The exposition text; `notes_count` is None when the database did not answer."""
        self.notes.set(float("nan") if notes_count is None else notes_count)
        return generate_latest(self.registry)
