"""The agent's log capture: every running service's stdout/stderr file and every file the
environment lists in `monitoring.logs`, followed across rotation, redacted, parsed and
stored with the position read up to (see `follower.py`), plus retention.

A source whose secrets cannot be read (backend unreachable) is not read at all that
round: lines wait in their file rather than reach the store unredacted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from shipway.errors import ShipwayError
from shipway.manifest.monitoring import LogSource
from shipway.monitor.collectors import Collector, CollectorContext
from shipway.monitor.logs.follower import FileFollower
from shipway.monitor.logs.ingest import SourceLabels, ingest
from shipway.monitor.logs.redaction import Redactor, release_redactor
from shipway.monitor.logs.repository import LogRepository
from shipway.monitor.targets import RunningService, running_services

DEFAULT_RETENTION = 7 * 86400.0


@dataclass(frozen=True)
class FollowedSource:
    """One file to follow: its store key, labels, whose secrets to redact, retention."""

    key: str
    path: str
    labels: SourceLabels
    redact_release: str
    retention: float


def sources_of(
    services: list[RunningService], manifest_dir: dict[str, Path]
) -> list[FollowedSource]:
    """The files to follow for `services`: each one's output file, and each
    environment's `monitoring.logs` files (relative paths are read from the folder of
    the manifest, `manifest_dir[deployment_id]`)."""
    found: dict[str, FollowedSource] = {}
    for running in services:
        declared = {s.service: s for s in running.monitoring.logs if s.service}
        if running.log_file:
            spec = declared.get(running.service)
            labels = SourceLabels(
                running.project,
                running.environment,
                running.service,
                running.log_file,
                running.release_id,
                spec.format if spec else "auto",
            )
            found.setdefault(
                _key(running, running.log_file),
                FollowedSource(
                    _key(running, running.log_file),
                    running.log_file,
                    labels,
                    running.release_id,
                    _retention(spec),
                ),
            )
        for spec in running.monitoring.logs:
            if spec.file is None:
                continue
            base = manifest_dir.get(running.deployment_id, Path.cwd())
            path = str((base / Path(spec.file).expanduser()).absolute())
            labels = SourceLabels(
                running.project, running.environment, None, path, None, spec.format
            )
            found.setdefault(
                _key(running, path),
                FollowedSource(
                    _key(running, path), path, labels, running.release_id, _retention(spec)
                ),
            )
    return list(found.values())


def _key(running: RunningService, path: str) -> str:
    return f"{running.project}/{running.environment}/{path}"


def _retention(spec: LogSource | None) -> float:
    return DEFAULT_RETENTION if spec is None else float(spec.retention)


class LogCollector(Collector):
    """Follows, redacts, parses and stores log lines; prunes them past retention."""

    name = "logs"
    interval = 1.0
    redactor_ttl = 60.0
    prune_interval = 600.0
    #: Batches read from one file per round before moving on to the next file.
    max_batches = 16

    def __init__(self, ctx: CollectorContext) -> None:
        super().__init__(ctx)
        self.repository = LogRepository(ctx.store.db)
        self._followed: dict[str, tuple[FollowedSource, FileFollower]] = {}
        self._redactors: dict[str, tuple[float, Redactor]] = {}
        self._manifest_dirs: dict[str, Path] = {}
        self._last_prune = 0.0

    def run(self) -> None:
        while not self.ctx.stop.is_set():
            self._round()
            self.ctx.stop.wait(self.interval)
        self._round()  # what was written up to shutdown

    def _round(self) -> None:
        try:
            self.collect_once()
        except Exception as exc:  # the loop must outlive any one failure
            self.report(f"round failed: {type(exc).__name__}: {exc}")

    def collect_once(self) -> int:
        """Read every source once; returns how many lines were stored."""
        services = running_services(self.ctx.store, self.ctx.host)
        wanted = {s.key: s for s in sources_of(services, self._dirs(services))}
        stored = 0
        for key in [k for k in self._followed if k not in wanted]:
            source, follower = self._followed.pop(key)
            stored += self._drain(source, follower)  # lines written before it stopped
        for key, source in wanted.items():
            if key not in self._followed:
                position = self.repository.position(key)
                self._followed[key] = (source, FileFollower(key, source.path, position))
            stored += self._drain(source, self._followed[key][1])
        self._prune(list(wanted.values()))
        return stored

    def _drain(self, source: FollowedSource, follower: FileFollower) -> int:
        try:
            redactor = self._redactor(source.redact_release)
        except ShipwayError as exc:
            self.report(f"not reading {source.path}: its secrets cannot be read: {exc}")
            return 0
        stored = 0
        for _ in range(self.max_batches):
            batch = follower.read()
            if batch.lines or batch.position != follower.position:
                lines = ingest(batch.lines, source.labels, redactor, time.time())
                stored += self.repository.append(lines, batch.position)
                follower.advance(batch.position)
            if not batch.more:
                break
        return stored

    def _redactor(self, release_id: str) -> Redactor:
        cached = self._redactors.get(release_id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.redactor_ttl:
            return cached[1]
        try:
            services = self.ctx.store.releases.get(release_id).services
            redactor = release_redactor(services)
        except ShipwayError:
            if cached is None:
                raise
            return cached[1]  # keep the values read last time
        if cached is not None:
            redactor = redactor.including(cached[1])
        self._redactors[release_id] = (now, redactor)
        return redactor

    def _dirs(self, services: list[RunningService]) -> dict[str, Path]:
        for running in services:
            if running.deployment_id not in self._manifest_dirs:
                try:
                    record = self.ctx.store.deployments.get(running.deployment_id)
                    path = Path(str(record.manifest.get("path") or record.manifest_path))
                    self._manifest_dirs[running.deployment_id] = path.parent
                except ShipwayError:
                    continue
        return self._manifest_dirs

    def _prune(self, sources: list[FollowedSource]) -> None:
        now = time.time()
        if now - self._last_prune < self.prune_interval:
            return
        self._last_prune = now
        for source in sources:
            labels = source.labels
            self.repository.prune(
                now - source.retention,
                project=labels.project,
                environment=labels.environment,
                source=labels.source,
            )
