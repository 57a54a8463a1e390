"""Test kinds: one module per kind, each registered by name in `registry`."""
