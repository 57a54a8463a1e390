"""`shipway logs`: search an environment's captured log lines, or follow new ones.

    shipway logs -e dev [-s api] [--level error] [--since 10m] [--until ...]
                 [--grep TEXT] [--search 'FTS query'] [--limit 100] [--follow]

Lines are stored already redacted (the agent redacts at ingestion), so what is printed
here never holds a secret value. `--output json` prints one JSON object per line.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from types import FrameType
from typing import Annotated

import typer
from rich.text import Text

from shipway.cli.options import (
    DEFAULT_FILE,
    EnvOpt,
    FileOpt,
    OutputFormat,
    OutputOpt,
    StateOpt,
    manifest,
    workspace,
)
from shipway.cli.output import console
from shipway.errors import InputError
from shipway.manifest import resolve_environment
from shipway.monitor.logs import LogLine, LogQuery, LogRepository
from shipway.monitor.logs.records import SEVERITIES, canonical_level
from shipway.store import Store

FOLLOW_POLL_S = 0.5
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_LEVEL_STYLE = {"fatal": "bold red", "error": "red", "warn": "yellow", "debug": "dim"}


def when(text: str, now: float, option: str) -> float:
    """`10m` (that long ago), or an ISO 8601 time (local time when it has no zone)."""
    text = text.strip()
    if _DURATION.match(text):
        parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)", text)
        return now - sum(float(n) * _UNITS[unit] for n, unit in parts)
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError as exc:
        raise InputError(
            f"{option}: {text!r} is neither a duration (10m, 2h, 1d) nor an ISO 8601 time"
        ) from exc


def min_severity(level: str | None) -> int:
    if level is None:
        return 0
    canonical = canonical_level(level)
    if canonical is None:
        raise InputError(f"--level: unknown level {level!r}; use one of {', '.join(SEVERITIES)}")
    return SEVERITIES[canonical]


def logs(
    env: EnvOpt,
    service: Annotated[
        str | None, typer.Option("--service", "-s", help="Only this service's lines.")
    ] = None,
    level: Annotated[
        str | None, typer.Option("--level", "-l", help="This level and above, e.g. error.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this long ago (10m, 2h) or an ISO time.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Up to this long ago or this ISO time.")
    ] = None,
    grep: Annotated[
        str | None, typer.Option("--grep", help="Lines containing TEXT (any case).")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            help="Full-text query: FTS5 syntax on SQLite, websearch syntax on PostgreSQL.",
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most N lines.")] = 100,
    follow: Annotated[
        bool, typer.Option("--follow", "-F", help="Keep printing new lines until Ctrl-C.")
    ] = False,
    file: FileOpt = DEFAULT_FILE,
    state: StateOpt = None,
    output: OutputOpt = OutputFormat.text,
) -> None:
    """Search ENV's captured log lines (newest LIMIT, oldest first), or follow them."""
    loaded = manifest(file)
    resolve_environment(loaded, env)  # an unknown environment is bad input
    now = time.time()
    query = LogQuery(
        project=loaded.manifest.project,
        environment=env,
        service=service,
        min_severity=min_severity(level),
        since=None if since is None else when(since, now, "--since"),
        until=None if until is None else when(until, now, "--until"),
        grep=grep,
        search=search,
        limit=limit,
    )
    with Store.open(workspace(file, state).state_url) as store:
        repository = LogRepository(store.db)
        if follow:
            _follow(repository, query, output)
        else:
            for line in repository.search(query):
                _print(line, output)


def _follow(repository: LogRepository, query: LogQuery, output: OutputFormat) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        cursor = repository.last_id()
        for line in repository.search(query):
            if line.id is not None and line.id <= cursor:
                _print(line, output)
        sys.stdout.flush()
        while True:
            query = _after(query, cursor)
            found = repository.search(query)
            for line in found:
                _print(line, output)
            if found:
                cursor = max(line.id or cursor for line in found)
                sys.stdout.flush()
            else:
                time.sleep(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        return


def _after(query: LogQuery, cursor: int) -> LogQuery:
    return replace(query, after_id=cursor, limit=1000)


def _print(line: LogLine, output: OutputFormat) -> None:
    stamp = datetime.fromtimestamp(line.time, UTC)
    if output is OutputFormat.json:
        record = {
            "id": line.id,
            "time": stamp.isoformat(),
            "service": line.service,
            "source": line.source,
            "release": line.release,
            "level": line.level,
            "message": line.message,
            "fields": line.fields,
        }
        sys.stdout.write(json.dumps(record, default=str) + "\n")
        return
    text = Text(stamp.astimezone().strftime("%Y-%m-%d %H:%M:%S "))
    text.append(f"{(line.level or '-').upper():5} ", style=_LEVEL_STYLE.get(line.level or ""))
    text.append(f"{line.service or line.source} ", style="cyan")
    text.append(line.message)
    console.print(text)


def register(app: typer.Typer) -> None:
    app.command("logs")(logs)
