"""The process's settings, read once at start from the command line and the environment.

Flags win over environment variables, which win over defaults, so a supervisor can set
`PORT` for every release while a developer types `--port` by hand.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from notes.faults import error_rate_setting

DEFAULT_DATABASE_URL = "sqlite:///./notes.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
_TRUE = frozenset({"1", "true", "yes", "on"})


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """Whether the boolean environment variable `name` is set to a true value."""
    return env.get(name, "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Settings:
    """Everything the application needs to know about its surroundings."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    database_url: str = DEFAULT_DATABASE_URL
    version: str = "1"
    fail_health: bool = False
    #: Fraction of requests (not /health, /metrics) answered 500; see notes/faults.py.
    error_rate: float = 0.0
    error_rate_file: str | None = None


def _parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m notes.app", description="Serve notes.")
    parser.add_argument("--host", default=env.get("HOST") or DEFAULT_HOST)
    parser.add_argument("--port", default=env.get("PORT") or str(DEFAULT_PORT))
    return parser


def _port(parser: argparse.ArgumentParser, text: str) -> int:
    # Parsed by hand rather than with type=int so that a bad PORT variable gets the same
    # one-line usage error (exit status 2) as a bad --port flag.
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and 0 < int(text) < 65536):
        parser.error(f"port must be an integer between 1 and 65535, not {text!r}")
    return int(text)


def load_settings(argv: Sequence[str] | None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the settings; exits with status 2 and a usage message on bad input."""
    env = os.environ if env is None else env
    parser = _parser(env)
    args = parser.parse_args(argv)
    try:
        error_rate = error_rate_setting(env)
    except ValueError as exc:
        parser.error(str(exc))
    return Settings(
        host=args.host,
        port=_port(parser, str(args.port)),
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        version=env.get("NOTES_VERSION") or "1",
        fail_health=env_flag(env, "FAIL_HEALTH"),
        error_rate=error_rate,
        error_rate_file=env.get("ERROR_RATE_FILE", "").strip() or None,
    )
