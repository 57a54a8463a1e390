"""Secret detection: vendor-format rules, keyword context with entropy, placeholders,
the `shipway:ignore-secret` pragma, and git history."""
