"""Misconfiguration rules over an environment's merged configuration, resolved through the
ConfigurationManager: findings at the layer line that decides the value, production-only
rules only in production, and secrets never resolved (a canary in the secret backend's
environment variable appears in no finding and no report)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipway.manifest import load_manifest, resolve_environment
from shipway.scanner import ScanSettings, scan
from shipway.scanner.formats import report_document
from shipway.scanner.scanners.interface import ScanTarget
from shipway.scanner.scanners.misconfiguration import MisconfigurationScanner
from tests.scanner.conftest import run_cli

MANIFEST = """\
version: 1
project: notes
environments:
  dev:
    target: local
  prod:
    extends: dev
    approval: required
config:
  layers:
    - config/base.yaml
    - config/${environment}.yaml
  secrets:
    backend: env
  allow_plaintext: [features.public_key_name]
services:
  api:
    run: python -m notes.app --port ${port}
    port: 8080
    health: {http: /health}
    limits: {memory: 128Mi}
"""
BASE = """\
log_level: info
debug: false
database:
  url: postgresql://notes:${secret:db_password}@db.internal:5432/notes
  password: ${secret:db_password}
features:
  public_key_name: deploy-key
"""
DEV = """\
debug: true
http:
  verify_ssl: false
"""
PROD = """\
debug: true
mode: development
cache:
  url: redis://default:redis@cache.internal:6379/0
http:
  verify_ssl: false
mailer:
  api_token: Zq8vN2kLx7RwT4pYb9Hc3JmF6sDg1aEu
admin:
  url: postgres://postgres:postgres@127.0.0.1:5432/postgres
grafana:
  url: http://admin:admin@grafana.internal:3000
"""
CANARY = "canary-Q3v9Lm2Xw8Rt5Yp1"


def position_of(text: str, marker: str) -> str:
    """`line:col` of the value in `key: value` (where the layer decides it)."""
    offset = text.index(marker) + marker.index(": ") + 2
    line = text.count("\n", 0, offset) + 1
    return f"{line}:{offset - (text.rfind(chr(10), 0, offset) + 1) + 1}"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DB_PASSWORD", CANARY)
    (tmp_path / "config").mkdir()
    (tmp_path / "shipway.yaml").write_text(MANIFEST)
    (tmp_path / "config" / "base.yaml").write_text(BASE)
    (tmp_path / "config" / "dev.yaml").write_text(DEV)
    (tmp_path / "config" / "prod.yaml").write_text(PROD)
    return tmp_path


def findings(root: Path, environment: str) -> list[tuple[str, str]]:
    loaded = load_manifest(root / "shipway.yaml")
    target = ScanTarget(root, manifest=loaded, environment=resolve_environment(loaded, environment))
    return sorted((f.rule, str(f.location)) for f in MisconfigurationScanner().scan(target))


def test_production_config(project: Path) -> None:
    at = lambda marker: "config/prod.yaml:" + position_of(PROD, marker)  # noqa: E731
    assert findings(project, "prod") == sorted(
        [
            ("misconfig.debug-in-production", at("debug: true")),
            ("misconfig.debug-in-production", at("mode: development")),
            ("misconfig.default-credentials", at("url: redis://")),
            ("misconfig.default-credentials", at("url: postgres://")),
            ("misconfig.default-credentials", at("url: http://admin")),
            ("misconfig.plaintext-secret", at("url: http://admin")),
            ("misconfig.plaintext-secret", at("url: redis://")),
            ("misconfig.plaintext-secret", at("url: postgres://")),
            ("misconfig.plaintext-secret", at("api_token: Z")),
            ("misconfig.tls-disabled", at("verify_ssl: false")),
        ]
    )


def test_debug_is_fine_outside_production(project: Path) -> None:
    at = "config/dev.yaml:" + position_of(DEV, "verify_ssl: false")
    assert findings(project, "dev") == [("misconfig.tls-disabled", at)]


def test_secrets_are_never_resolved(project: Path) -> None:
    loaded = load_manifest(project / "shipway.yaml")
    report = scan(
        project,
        ScanSettings(scanners=("misconfiguration",)),
        manifest=loaded,
        environment=resolve_environment(loaded, "prod"),
    )
    text = json.dumps(report_document(report))
    assert "misconfig.plaintext-secret" in text
    assert CANARY not in text
    assert "Zq8vN2kLx7RwT4pYb9Hc3JmF6sDg1aEu" not in text  # the plain-text value itself
    done = run_cli("scan", str(project), "-e", "prod", "--scanner", "misconfiguration",
                   "--format", "json", cwd=project)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert CANARY not in done.stdout + done.stderr
    rules = {f["rule"] for f in json.loads(done.stdout)["findings"]}
    assert "misconfig.debug-in-production" in rules


def test_a_missing_layer_is_bad_input(project: Path) -> None:
    (project / "config" / "prod.yaml").unlink()
    done = run_cli("scan", str(project), "-e", "prod", "--scanner", "misconfiguration",
                   cwd=project)  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert lines[0] == "error: config/prod.yaml: cannot read config layer: no such file"
