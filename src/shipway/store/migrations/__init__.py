"""Alembic migration environment and revision scripts of the state store."""
