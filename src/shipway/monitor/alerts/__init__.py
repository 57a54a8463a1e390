"""Alert rules from the manifest, evaluated on an interval into alert instances with
Prometheus's states (inactive, pending, firing, resolved), routed to notification channels
with Alertmanager's grouping, deduplication, repeat interval and silences.

Modules: `model` (records, fingerprints, matchers), `templates`, `states` (the state
machine), `conditions` (what a rule's expression or log condition returns now),
`repository` (the store's tables), `routing` (groups and the notification log),
`evaluator` (one round for one environment) and `collector` (the agent's loop).
"""
