"""shipway's own metrics, read from the state store: deployments by status, stage runs by
status and their durations, per project and environment.

    shipway_deployments{project, environment, status}            gauge (count)
    shipway_deployment_failures{project, environment}            gauge (failed + rolled back)
    shipway_stage_runs{project, environment, stage, status}      gauge (count)
    shipway_stage_duration_seconds_sum / _count{..., stage}      finished runs
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

if TYPE_CHECKING:
    from shipway.store import Store

FAILED_STATUSES = ("failed", "rolled_back")


@dataclass
class OwnMetrics:
    """One reading: (name, labels, value) triples, grouped by (project, environment)."""

    by_environment: dict[tuple[str, str], list[tuple[str, dict[str, str], float]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def all(self) -> list[tuple[str, dict[str, str], float]]:
        return [item for items in self.by_environment.values() for item in items]


def read_own_metrics(store: Store) -> OwnMetrics:
    from shipway.store.tables import deployments, stage_runs

    found = OwnMetrics()
    with store.db.read("read deployment metrics") as conn:
        counts = conn.execute(
            sa.select(
                deployments.c.project,
                deployments.c.environment,
                deployments.c.status,
                sa.func.count(),
            ).group_by(deployments.c.project, deployments.c.environment, deployments.c.status)
        ).all()
        runs = conn.execute(
            sa.select(
                deployments.c.project,
                deployments.c.environment,
                stage_runs.c.stage,
                stage_runs.c.status,
                stage_runs.c.started_at,
                stage_runs.c.finished_at,
            ).join(deployments, deployments.c.id == stage_runs.c.deployment_id)
        ).all()
    failures: dict[tuple[str, str], float] = defaultdict(float)
    for project, environment, status, count in counts:
        env = (project, environment)
        labels = {"project": project, "environment": environment}
        found.by_environment[env].append(
            ("shipway_deployments", {**labels, "status": status}, float(count))
        )
        failures[env] += float(count) if status in FAILED_STATUSES else 0.0
    for (project, environment), failed in failures.items():
        labels = {"project": project, "environment": environment}
        found.by_environment[(project, environment)].append(
            ("shipway_deployment_failures", labels, failed)
        )
    stage_counts: dict[tuple[str, str, str, str], float] = defaultdict(float)
    durations: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for project, environment, stage, status, started, finished in runs:
        stage_counts[(project, environment, stage, status)] += 1
        if started is not None and finished is not None:
            total = durations[(project, environment, stage)]
            total[0] += (finished - started).total_seconds()
            total[1] += 1
    for (project, environment, stage, status), count in stage_counts.items():
        labels = {"project": project, "environment": environment, "stage": stage}
        found.by_environment[(project, environment)].append(
            ("shipway_stage_runs", {**labels, "status": status}, count)
        )
    for (project, environment, stage), (seconds, runs_count) in durations.items():
        labels = {"project": project, "environment": environment, "stage": stage}
        env_list = found.by_environment[(project, environment)]
        env_list.append(("shipway_stage_duration_seconds_sum", labels, seconds))
        env_list.append(("shipway_stage_duration_seconds_count", labels, runs_count))
    return found
