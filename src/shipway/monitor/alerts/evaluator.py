"""One environment's alerting: evaluate its rules into stored alert instances, and
dispatch notifications for its groups.

`evaluate(now)` runs every rule once (a failing rule keeps its previous instances, as a
failed Prometheus evaluation does) and retires the instances of rules that left the
manifest (firing ones resolve). `dispatch(now)` plans the due flushes (`routing.py`) and
delivers them on worker threads, so a slow channel never delays evaluation; a group
being delivered is left out of planning until its delivery ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime

from shipway.config.secrets import SecretBackend
from shipway.errors import ShipwayError
from shipway.manifest.monitoring import AlertRule, MonitoringSpec
from shipway.monitor.alerts.conditions import rule_samples
from shipway.monitor.alerts.routing import Flush, RouteSettings, plan
from shipway.monitor.alerts.states import DuplicateLabelsError, advance
from shipway.monitor.notify.delivery import DeliveryPolicy, DeliveryResult, deliver
from shipway.monitor.notify.interface import ChannelSecrets, Notification, Notifier
from shipway.monitor.notify.registry import notifier_for
from shipway.store import Store

MAX_DELIVERY_THREADS = 4


class AlertEvaluator:
    """Alert rules and notification routing of one project environment."""

    def __init__(
        self,
        store: Store,
        project: str,
        environment: str,
        monitoring: MonitoringSpec,
        *,
        secrets: SecretBackend | None = None,
        backoff: float = 1.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.project = project
        self.environment = environment
        self.monitoring = monitoring
        self.secrets = secrets
        self.settings = RouteSettings.from_spec(monitoring.alerting)
        self.backoff = backoff
        self.report = report
        self._pool = ThreadPoolExecutor(MAX_DELIVERY_THREADS, thread_name_prefix="notify")
        self._in_flight: dict[str, Future[DeliveryResult | None]] = {}
        self._lock = threading.Lock()

    # --- evaluation ---------------------------------------------------------------------

    def evaluate(self, now: datetime) -> list[str]:
        """Evaluate every rule at `now`; returns one message per rule that failed."""
        problems = []
        retention = float(self.monitoring.alerting.resolved_retention)
        for rule in self.monitoring.alerts:
            try:
                samples = rule_samples(
                    self.store,
                    self.project,
                    self.environment,
                    rule,
                    now.timestamp(),
                    self.monitoring,
                )
                previous = self.store.alerts.instances(
                    self.project, self.environment, rule=rule.name
                )
                current = advance(
                    rule, self.project, self.environment, previous, samples, now, retention
                )
                self.store.alerts.replace_rule(self.project, self.environment, rule.name, current)
            except (ShipwayError, DuplicateLabelsError) as exc:
                problems.append(f"rule {rule.name!r}: {exc}")
        names = {rule.name for rule in self.monitoring.alerts}
        for stale in sorted(self.store.alerts.rules(self.project, self.environment) - names):
            gone = AlertRule.model_validate({"name": stale, "expr": "vector(0)"})
            previous = self.store.alerts.instances(self.project, self.environment, rule=stale)
            current = advance(gone, self.project, self.environment, previous, [], now, retention)
            self.store.alerts.replace_rule(self.project, self.environment, stale, current)
        return problems

    # --- notification -------------------------------------------------------------------

    def notifiers(self) -> dict[str, Notifier]:
        secrets = ChannelSecrets(self.secrets)
        return {
            name: notifier_for(name, channel, secrets)
            for name, channel in self.monitoring.notify.items()
        }

    def dispatch(self, now: datetime, *, wait_for_delivery: bool = False) -> list[Flush]:
        """Flush the groups due at `now`; returns the flushes started. Deliveries run on
        worker threads; `wait_for_delivery` waits for them (tests, shutdown)."""
        notifiers = self.notifiers()
        alerts = self.store.alerts.instances(self.project, self.environment)
        groups = self.store.alerts.groups(self.project, self.environment)
        silences = self.store.alerts.silences(self.project, self.environment, active_at=now)
        with self._lock:
            busy = {gid for gid, future in self._in_flight.items() if not future.done()}
        updates, flushes = plan(
            self.project,
            self.environment,
            alerts,
            {rule.name: rule.notify for rule in self.monitoring.alerts},
            {name: notifier.send_resolved for name, notifier in notifiers.items()},
            [g for g in groups if g.id not in busy],
            silences,
            self.settings,
            now,
        )
        for state in updates:
            if state.id not in busy:
                self.store.alerts.save_group(state)
        futures = []
        for flush in flushes:
            if flush.group.id in busy:
                continue
            future = self._pool.submit(self._flush, flush, notifiers[flush.group.receiver], now)
            with self._lock:
                self._in_flight[flush.group.id] = future
            futures.append(future)
        if wait_for_delivery:
            wait(futures)
            for future in futures:
                future.result()
        return flushes

    def _flush(self, flush: Flush, notifier: Notifier, now: datetime) -> DeliveryResult | None:
        result = None
        if flush.alerts:
            notification = Notification(
                project=self.project,
                environment=self.environment,
                receiver=flush.group.receiver,
                group_key=flush.group.group_key,
                group_labels=dict(flush.group.group_labels),
                alerts=flush.alerts,
            )
            policy = DeliveryPolicy(deadline=self.settings.group_interval, backoff=self.backoff)
            result = deliver(notifier, notification, self.store.alerts, policy)
            if not result.ok and self.report is not None:
                self.report(
                    f"{self.project}/{self.environment}: notification to "
                    f"{flush.group.receiver!r} failed after {result.attempts} attempt(s): "
                    f"{result.error}"
                )
        ok = result is None or result.ok
        self.store.alerts.save_group(flush.after(now, ok, self.settings))
        return result

    def close(self, *, wait_for_delivery: bool = True) -> None:
        self._pool.shutdown(wait=wait_for_delivery, cancel_futures=not wait_for_delivery)
