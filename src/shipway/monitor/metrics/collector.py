"""The agent's metrics loop: scrape every running service that has a `monitoring.scrape`
entry on its interval (several targets at once, each with a timeout), record host and
shipway's own metrics, run retention and rollups every minute, and serve `/metrics`.

Targets are looked up again every round, so releases that come and go are followed; each
service process is scraped on its release's private port, so one release is seen alone.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar

import httpx

from shipway.manifest.monitoring import MetricsRetention, MonitoringSpec
from shipway.monitor.collectors import Collector
from shipway.monitor.metrics.endpoint import serve
from shipway.monitor.metrics.host import host_samples
from shipway.monitor.metrics.own import read_own_metrics
from shipway.monitor.metrics.retention import apply_retention
from shipway.monitor.metrics.scrape import StalenessTracker, scrape
from shipway.monitor.metrics.storage import write_samples
from shipway.monitor.targets import RunningService, running_services

TICK_S = 0.5
SERVICES_REFRESH_S = 2.0
HOST_INTERVAL_S = 15.0
OWN_INTERVAL_S = 30.0
RETENTION_INTERVAL_S = 60.0
SCRAPE_WORKERS = 4


@dataclass(frozen=True)
class ScrapeJob:
    project: str
    environment: str
    service: str
    release: str
    url: str
    interval: float
    timeout: float

    @property
    def labels(self) -> dict[str, str]:
        instance = self.url.split("/")[2]
        return {
            "job": self.service,
            "instance": instance,
            "service": self.service,
            "release": self.release,
        }


def scrape_jobs(services: list[RunningService]) -> list[ScrapeJob]:
    jobs = []
    for svc in services:
        if svc.base_url is None:
            continue
        for target in svc.monitoring.scrape:
            if target.service != svc.service:
                continue
            interval = float(target.interval)
            jobs.append(
                ScrapeJob(
                    svc.project,
                    svc.environment,
                    svc.service,
                    svc.release_id,
                    svc.base_url + target.path,
                    interval,
                    min(float(target.timeout), interval),
                )
            )
    return jobs


class MetricsCollector(Collector):
    name: ClassVar[str] = "metrics"

    def run(self) -> None:
        stop = self.ctx.stop
        self._staleness = StalenessTracker()
        server = None
        try:
            server = serve(self.ctx.store, self.ctx.home)
        except (OSError, ValueError) as e:  # scraping goes on without the endpoint
            self.report(f"cannot serve /metrics: {type(e).__name__}: {e}")
        if server is not None:
            threading.Thread(
                target=server.serve_forever, name="metrics-endpoint", daemon=True
            ).start()
        due: dict[ScrapeJob, float] = {}
        running: dict[ScrapeJob, Future[None]] = {}
        next_host = next_own = next_services = 0.0
        services: list[RunningService] = []
        next_retention = time.monotonic() + RETENTION_INTERVAL_S
        client = httpx.Client(follow_redirects=False)
        pool = ThreadPoolExecutor(SCRAPE_WORKERS, thread_name_prefix="scrape")
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_services:
                    next_services = now + SERVICES_REFRESH_S
                    # NOTE: when the list cannot be read, keep the last one: an empty
                    # list would mark every target's series stale.
                    listed = self._services()
                    services = services if listed is None else listed
                jobs = scrape_jobs(services)
                for job in jobs:
                    if job in running and not running[job].done():
                        continue
                    if due.get(job, 0.0) <= now:
                        due[job] = now + job.interval
                        running[job] = pool.submit(self._scrape, client, job)
                for gone in set(due) - set(jobs):
                    due.pop(gone, None)
                    running.pop(gone, None)
                    self._guard("staleness", self._gone, gone)
                envs = {(s.project, s.environment): s.monitoring for s in services}
                if now >= next_host:
                    next_host = now + HOST_INTERVAL_S
                    self._guard("host metrics", self._host, envs)
                if now >= next_own:
                    next_own = now + OWN_INTERVAL_S
                    self._guard("own metrics", self._own)
                if now >= next_retention:
                    next_retention = now + RETENTION_INTERVAL_S
                    self._guard("retention", self._retention, envs)
                stop.wait(TICK_S)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            client.close()
            if server is not None:
                server.shutdown()
                server.server_close()

    def _services(self) -> list[RunningService] | None:
        try:
            return running_services(self.ctx.store, self.ctx.host)
        except Exception as e:
            self.report(f"cannot list services: {type(e).__name__}: {e}")
            return None

    def _guard(self, what: str, fn: object, *args: object) -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except Exception as e:  # one failed round must not end the loop
            self.report(f"{what} failed: {type(e).__name__}: {e}")

    def _scrape(self, client: httpx.Client, job: ScrapeJob) -> None:
        try:
            result = scrape(client, job.url, job.labels, timeout=job.timeout)
            stale = self._staleness.after_scrape(job.url, result)
            write_samples(self.ctx.store, job.project, job.environment, result.samples + stale)
        except Exception as e:
            self.report(f"scrape of {job.url} failed: {type(e).__name__}: {e}")

    def _gone(self, job: ScrapeJob) -> None:
        markers = self._staleness.target_gone(job.url, job.labels, time.time())
        write_samples(self.ctx.store, job.project, job.environment, markers)

    def _host(self, envs: dict[tuple[str, str], MonitoringSpec]) -> None:
        if not envs:
            return
        samples = host_samples()
        for project, environment in envs:
            write_samples(self.ctx.store, project, environment, samples)

    def _own(self) -> None:
        now = time.time()
        for (project, environment), items in read_own_metrics(
            self.ctx.store
        ).by_environment.items():
            write_samples(
                self.ctx.store,
                project,
                environment,
                [(name, {**labels, "job": "shipway"}, now, value) for name, labels, value in items],
            )

    def _retention(self, envs: dict[tuple[str, str], MonitoringSpec]) -> None:
        """Every environment with stored series: with the retention its running services'
        manifest sets, else the defaults (so stopped environments still expire)."""
        default = MetricsRetention()
        for project, environment in self.ctx.store.metrics.environments():
            monitoring = envs.get((project, environment))
            retention = monitoring.retention if monitoring is not None else default
            apply_retention(
                self.ctx.store,
                project,
                environment,
                raw_s=float(retention.raw),
                rollups_s=float(retention.rollups),
                now=time.time(),
            )
