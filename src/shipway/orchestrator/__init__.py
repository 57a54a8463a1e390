"""The deployment orchestrator: stages, events, leases, approvals and rollback on DBOS
durable workflows."""
