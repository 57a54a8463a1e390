"""Which files the collector follows for the running services, with which labels, format
and retention (the loop itself runs in the end-to-end test, in the real agent)."""

from __future__ import annotations

from pathlib import Path

from shipway.manifest.monitoring import LogSource, MonitoringSpec
from shipway.monitor.logs.collector import DEFAULT_RETENTION, sources_of
from shipway.monitor.targets import RunningService


def _running(service: str, monitoring: MonitoringSpec, log_file: str) -> RunningService:
    return RunningService(
        project="shop",
        environment="dev",
        service=service,
        release_id="shop-dev-r4",
        deployment_id="dep-1",
        pid=123,
        private_port=None,
        log_file=log_file,
        monitoring=monitoring,
    )


def test_every_service_output_and_each_listed_file_once(tmp_path: Path) -> None:
    monitoring = MonitoringSpec(
        logs=[
            LogSource(service="api", format="json", retention="3d"),
            LogSource(file="logs/access.log", format="combined"),
            LogSource(file="/var/log/app.log"),
        ]
    )
    services = [
        _running("api", monitoring, "/home/.shipway/logs/api/dev-1.log"),
        _running("worker", monitoring, "/home/.shipway/logs/worker/dev-1.log"),
    ]
    found = {s.path: s for s in sources_of(services, {"dep-1": tmp_path})}
    assert sorted(found) == sorted(
        [
            "/home/.shipway/logs/api/dev-1.log",
            "/home/.shipway/logs/worker/dev-1.log",
            str(tmp_path / "logs" / "access.log"),
            "/var/log/app.log",
        ]
    )
    api = found["/home/.shipway/logs/api/dev-1.log"]
    assert (api.labels.service, api.labels.release, api.labels.format) == (
        "api",
        "shop-dev-r4",
        "json",
    )
    assert api.retention == 3 * 86400
    worker = found["/home/.shipway/logs/worker/dev-1.log"]
    assert worker.labels.format == "auto" and worker.retention == DEFAULT_RETENTION
    access = found[str(tmp_path / "logs" / "access.log")]
    assert access.labels.service is None and access.labels.release is None
    assert access.labels.format == "combined" and access.redact_release == "shop-dev-r4"
    assert access.key == f"shop/dev/{tmp_path / 'logs' / 'access.log'}"
