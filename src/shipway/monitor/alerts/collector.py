"""The agent's alerting loop: for every environment it runs services for, evaluate the
rules every `monitoring.evaluation_interval` and dispatch notifications (checked every
second, so `group_wait` and `group_interval` are kept to about a second).

The monitoring settings come from the newest running release of the environment; a
changed section (a new release) gets a new evaluator, while the stored states carry over.
Channel secrets are read through the environment's secret backend, as its services'.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shipway.config.delivery import backend_for
from shipway.config.secrets import SecretBackend
from shipway.errors import ShipwayError
from shipway.manifest.monitoring import MonitoringSpec
from shipway.monitor.alerts.evaluator import AlertEvaluator
from shipway.monitor.collectors import Collector
from shipway.monitor.targets import RunningService, running_services

#: The longest the loop sleeps, which bounds how late a group flush can be.
TICK_S = 1.0


@dataclass(frozen=True)
class _Environment:
    monitoring: MonitoringSpec
    secret_source: dict[str, Any] | None


class AlertCollector(Collector):
    """Evaluates alert rules and sends notifications for the agent's environments."""

    name = "alerts"

    def run(self) -> None:
        evaluators: dict[tuple[str, str], AlertEvaluator] = {}
        due: dict[tuple[str, str], float] = {}
        try:
            while not self.ctx.stop.is_set():
                for key, env in self._environments().items():
                    evaluator = evaluators.get(key)
                    if evaluator is None or evaluator.monitoring != env.monitoring:
                        if evaluator is not None:
                            evaluator.close(wait_for_delivery=False)
                        evaluator = self._evaluator(key, env)
                        evaluators[key] = evaluator
                    self._round(evaluator, due)
                self.ctx.stop.wait(TICK_S)
        finally:
            for evaluator in evaluators.values():
                evaluator.close(wait_for_delivery=False)

    def _round(self, evaluator: AlertEvaluator, due: dict[tuple[str, str], float]) -> None:
        key = (evaluator.project, evaluator.environment)
        now = time.time()
        try:
            if now >= due.get(key, 0.0):
                due[key] = now + float(evaluator.monitoring.evaluation_interval)
                for problem in evaluator.evaluate(datetime.fromtimestamp(now, UTC)):
                    self.report(f"{key[0]}/{key[1]}: {problem}")
            evaluator.dispatch(datetime.now(UTC))
        except ShipwayError as exc:
            self.report(f"{key[0]}/{key[1]}: {exc}")
        except Exception as exc:  # the loop must outlive a bug; report it and go on
            self.report(f"{key[0]}/{key[1]}: {type(exc).__name__}: {exc}")

    def _environments(self) -> dict[tuple[str, str], _Environment]:
        """The monitoring section of each environment's newest running release."""
        try:
            services = running_services(self.ctx.store, self.ctx.host)
        except ShipwayError as exc:
            self.report(f"cannot list running services: {exc}")
            return {}
        newest: dict[tuple[str, str], RunningService] = {}
        for service in services:
            key = (service.project, service.environment)
            if key not in newest or _number(service.release_id) > _number(newest[key].release_id):
                newest[key] = service
        found = {}
        for key, service in newest.items():
            try:
                # NOTE: without rules, stored alerts still need retiring (resolved, notified).
                if service.monitoring.alerts or self.ctx.store.alerts.rules(*key):
                    found[key] = _Environment(service.monitoring, self._secret_source(service))
            except ShipwayError as exc:
                self.report(f"{key[0]}/{key[1]}: {exc}")
        return found

    def _secret_source(self, service: RunningService) -> dict[str, Any] | None:
        try:
            spec = self.ctx.store.releases.get(service.release_id).services.get(service.service)
        except ShipwayError:
            return None
        source = (spec or {}).get("secret_source")
        return dict(source) if isinstance(source, dict) else None

    def _evaluator(self, key: tuple[str, str], env: _Environment) -> AlertEvaluator:
        backend: SecretBackend | None = None
        if env.secret_source is not None:
            try:
                backend = backend_for(env.secret_source)
            except ShipwayError as exc:
                self.report(f"{key[0]}/{key[1]}: no secret backend for channels: {exc}")
        return AlertEvaluator(
            self.ctx.store, key[0], key[1], env.monitoring, secrets=backend, report=self.report
        )


def _number(release_id: str) -> int:
    found = re.search(r"-r(\d+)$", release_id)
    return int(found[1]) if found else 0
