"""Declarative HTTP checks: building requests, judging responses."""
