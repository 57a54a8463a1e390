"""shipway's own `/metrics` for an existing Prometheus to scrape, served by the agent.

Where: `SHIPWAY_METRICS_LISTEN` (host:port, e.g. 0.0.0.0:9464) or, by default, a free port
on 127.0.0.1; the address is written to `<home>/metrics-endpoint.json` ({"url": ...}).
It exposes shipway's own metrics (`own.py`), this host's metrics (`host.py`) and, with
`?federate=1`, the newest stored sample of every series scraped from services in the last
5 minutes (labels `project` and `environment` added), in the Prometheus text format.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shipway.monitor.metrics.host import host_samples
from shipway.monitor.metrics.own import read_own_metrics

if TYPE_CHECKING:
    from shipway.store import Store

LISTEN_ENV = "SHIPWAY_METRICS_LISTEN"
ENDPOINT_FILE = "metrics-endpoint.json"
FEDERATE_WINDOW_MS = 300_000
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _Families:
    def __init__(self) -> None:
        self.families: dict[str, GaugeMetricFamily] = {}
        self.label_names: dict[str, list[str]] = {}

    def add(self, name: str, labels: dict[str, str], value: float) -> None:
        family = self.families.get(name)
        if family is None:
            keys = sorted(labels)
            family = GaugeMetricFamily(name, f"shipway {name}", labels=keys)
            self.families[name] = family
            self.label_names[name] = keys
        keys = self.label_names[name]
        if sorted(labels) != keys:
            return  # the text format needs one label set per family; skip odd ones
        family.add_metric([labels[k] for k in keys], value)


class ShipwayMetrics(Collector):
    """A prometheus_client collector reading the store on every scrape."""

    def __init__(self, store: Store, *, federate: bool = False) -> None:
        self.store = store
        self.federate = federate

    def collect(self) -> Iterator[Metric]:
        families = _Families()
        for name, labels, value in read_own_metrics(self.store).all():
            families.add(name, labels, value)
        for host_name, host_labels, _, host_value in host_samples():
            families.add(host_name, dict(host_labels), host_value)
        if self.federate:
            for name, labels, value in _newest_samples(self.store):
                families.add(name, labels, value)
        yield from families.families.values()


def _newest_samples(store: Store) -> Iterable[tuple[str, dict[str, str], float]]:
    p = "%s" if store.dialect == "postgresql" else "?"
    since = round(time.time() * 1000) - FEDERATE_WINDOW_MS
    with store.db.read("read newest samples") as conn:
        rows = conn.exec_driver_sql(
            "SELECT m.project, m.environment, m.name, m.labels, s.value FROM metric_series m "
            "JOIN metric_samples s ON s.series_id = m.id AND s.ts = (SELECT max(ts) FROM "
            f"metric_samples WHERE series_id = m.id AND ts >= {p})",
            (since,),
        ).fetchall()
    for project, environment, name, labels, value in rows:
        if value is None:
            continue  # a staleness marker: the series has ended
        found = json.loads(labels)
        found.setdefault("project", project)
        found.setdefault("environment", environment)
        yield name, found, float("nan") if value is None else float(value)


def render(store: Store, *, federate: bool = False) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ShipwayMetrics(store, federate=federate))
    return generate_latest(registry)


def listen_address() -> tuple[str, int]:
    raw = os.environ.get(LISTEN_ENV, "127.0.0.1:0")
    host, _, port = raw.rpartition(":")
    return (host or "127.0.0.1").strip("[]"), int(port or 0)


def serve(store: Store, home: Path) -> ThreadingHTTPServer:
    """Start the endpoint (the caller runs `serve_forever` in a thread and `shutdown`s it)
    and write its URL to `<home>/metrics-endpoint.json`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/metrics":
                self.send_error(404)
                return
            federate = parse_qs(url.query).get("federate", ["0"])[0] in ("1", "true")
            try:
                body = render(store, federate=federate)
            except Exception as e:  # report, never kill the server thread
                self.send_error(500, f"{type(e).__name__}")
                return
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(listen_address(), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    info = {"url": f"http://{_url_host(str(host))}:{port}/metrics", "pid": os.getpid()}
    tmp = home / (ENDPOINT_FILE + ".tmp")
    tmp.write_text(json.dumps(info))
    tmp.replace(home / ENDPOINT_FILE)
    return server


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
