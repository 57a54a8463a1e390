"""Names the CLI and the executing process agree on. Kept apart from `engine` so the
CLI can queue work without importing the DBOS runtime."""

from __future__ import annotations

WORKFLOW_NAME = "shipway.deployment"
QUEUE_NAME = "shipway-deployments"
CONTROL_TOPIC = "control"
#: Lease time-to-live; the agent renews the leases it owns every few seconds.
LEASE_TTL = 30.0


def lease_key(project: str, environment: str) -> str:
    """The lease (and queue partition) of one environment of one project."""
    return f"{project}/{environment}"


#: `DeploymentContext.shared_metadata` key naming the kept release a rollback activates.
ROLLBACK_RELEASE = "rollback_release"

#: In the error of a deployment cancelled because it waited longer than `--wait` allowed.
WAIT_EXCEEDED = "longer than --wait"
