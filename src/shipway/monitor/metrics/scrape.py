"""One scrape of one target, as Prometheus does it: GET the endpoint with a timeout and
the Accept header Prometheus sends, parse the body, attach the target's labels (a scraped
label that clashes with one is kept as `exported_<name>`, as with honor_labels: false),
time samples without their own timestamp at the scrape's start, and add `up`,
`scrape_duration_seconds` and `scrape_samples_scraped`. `StalenessTracker` writes
Prometheus's staleness markers for series a target stops exposing, fails to serve or
takes away with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from shipway.monitor.metrics.exposition import ExpositionError, parse_exposition
from shipway.monitor.metrics.storage import STALE_NAN, Sample

ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


@dataclass(frozen=True)
class ScrapeResult:
    samples: list[Sample]
    up: bool
    error: str | None
    #: Unix seconds when the scrape began: the time of samples without their own.
    started: float


def scrape(
    client: httpx.Client, url: str, target_labels: Mapping[str, str], *, timeout: float
) -> ScrapeResult:
    """Scrape `url`; never raises for the target's faults (they make `up` 0)."""
    started = time.time()
    error = None
    parsed = []
    try:
        response = client.get(
            url,
            headers={"Accept": ACCEPT, "X-Prometheus-Scrape-Timeout-Seconds": f"{timeout:g}"},
            timeout=timeout,
        )
        response.raise_for_status()
        openmetrics = "openmetrics" in response.headers.get("content-type", "")
        parsed = parse_exposition(response.text, openmetrics=openmetrics)
    except (httpx.HTTPError, ExpositionError, UnicodeDecodeError) as e:
        error = f"{type(e).__name__}: {e}"
        parsed = []
    duration = time.time() - started
    samples: list[Sample] = []
    for p in parsed:
        labels = {k: v for k, v in p.labels.items() if v != ""}
        for key in target_labels:
            if key in labels:
                labels[f"exported_{key}"] = labels.pop(key)
        labels.update(target_labels)
        when = started if p.timestamp is None else p.timestamp
        samples.append((p.name, labels, when, p.value))
    up = error is None
    meta = dict(target_labels)
    samples.append(("up", meta, started, 1.0 if up else 0.0))
    samples.append(("scrape_duration_seconds", meta, started, duration))
    samples.append(("scrape_samples_scraped", meta, started, float(len(parsed))))
    return ScrapeResult(samples, up, error, started)


SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


class StalenessTracker:
    """What each target exposed last time, to mark as stale what it stops exposing (at
    the next scrape's time), everything after a failed scrape, and everything, `up`
    included, when the target goes away. Safe to use from several scraping threads."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[SeriesKey, tuple[str, dict[str, str]]]] = {}
        self._lock = threading.Lock()

    def after_scrape(self, target: str, result: ScrapeResult) -> list[Sample]:
        current = {
            (name, tuple(sorted(labels.items()))): (name, dict(labels))
            for name, labels, _, _ in result.samples
            if name not in _SCRAPE_META
        }
        with self._lock:
            previous = self._seen.get(target, {})
            self._seen[target] = current
        return [
            (name, labels, result.started, STALE_NAN)
            for key, (name, labels) in previous.items()
            if key not in current
        ]

    def target_gone(self, target: str, labels: Mapping[str, str], at: float) -> list[Sample]:
        with self._lock:
            previous = self._seen.pop(target, {})
        markers: list[Sample] = [(name, lab, at, STALE_NAN) for name, lab in previous.values()]
        markers.extend((name, dict(labels), at, STALE_NAN) for name in _SCRAPE_META)
        return markers


_SCRAPE_META = ("up", "scrape_duration_seconds", "scrape_samples_scraped")
