"""The agent's anomaly loop: every environment it runs services for is checked against
the `monitoring.anomalies` rules of the manifest its release came from, each rule on its
own `interval`."""

from __future__ import annotations

import time

from shipway.errors import ShipwayError
from shipway.manifest.monitoring import MonitoringSpec
from shipway.monitor.anomaly.evaluate import evaluate_rule, record
from shipway.monitor.collectors import Collector, CollectorContext
from shipway.monitor.targets import running_services

#: How often the loop looks for due rules and new environments.
TICK_SECONDS = 1.0


class AnomalyCollector(Collector):
    """Evaluates anomaly rules on their intervals."""

    name = "anomalies"

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self._last_run: dict[tuple[str, str, str], float] = {}

    def run(self) -> None:
        while not self.ctx.stop.is_set():
            try:
                self.round(time.time())
            except Exception as exc:  # the loop outlives a bad round
                self.report(f"round failed: {type(exc).__name__}: {exc}")
            self.ctx.stop.wait(TICK_SECONDS)

    def round(self, now: float) -> int:
        """Evaluate every due rule; returns how many new anomalies were found."""
        found = 0
        for (project, environment), monitoring in self._environments().items():
            for rule in monitoring.anomalies:
                key = (project, environment, rule.name)
                if now - self._last_run.get(key, -float("inf")) < float(rule.interval):
                    continue
                self._last_run[key] = now
                try:
                    evaluations = evaluate_rule(
                        self.ctx.store, project, environment, rule, now, monitoring
                    )
                    found += record(self.ctx.store, project, environment, evaluations, now)
                except ShipwayError as exc:
                    self.report(f"{project}/{environment} rule {rule.name}: {exc}")
        return found

    def _environments(self) -> dict[tuple[str, str], MonitoringSpec]:
        found: dict[tuple[str, str], MonitoringSpec] = {}
        for service in running_services(self.ctx.store, self.ctx.host):
            if service.monitoring.anomalies:
                found.setdefault((service.project, service.environment), service.monitoring)
        return found
