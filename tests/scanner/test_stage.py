"""The pipeline's scan stage on the example project, deployed through the real CLI and
agent: a planted high-severity finding stops the deployment at the scan stage (exit 1,
the finding in the output), and an ignore entry for it lets the deployment proceed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.deployed import DeployedProject
from tests.scanner.corpus import KINDS

SECURITY = """
security:
  fail_on: high
  scanners: [dependencies, secrets, misconfiguration]
  vulnerability_db: {db}
"""


def _events(project: DeployedProject, deployment: str) -> list[dict[str, Any]]:
    """`shipway events ID --output json` prints one JSON object per event."""
    done = project.run("events", deployment, "--output", "json")
    assert done.returncode == 0, done.stderr
    decoder, text, position, out = json.JSONDecoder(), done.stdout, 0, []
    while text[position:].strip():
        position += len(text[position:]) - len(text[position:].lstrip())
        event, position = decoder.raw_decode(text, position)
        out.append(event)
    return out


@pytest.fixture
def project(tmp_path: Path) -> Iterator[DeployedProject]:
    deployed = DeployedProject(tmp_path / "notes")
    yield deployed
    deployed.close()


def test_plan_shows_the_scan_stage(project: DeployedProject, small_db: Path) -> None:
    plan = project.json("plan", "-e", "dev")
    scan = next(s for s in plan["stages"] if s["stage"] == "scan")
    assert scan["action"] == "skip" and scan["reason"] == "not configured in the manifest"
    project.edit(lambda text: text + SECURITY.format(db=small_db))
    plan = project.json("plan", "-e", "dev")
    scan = next(s for s in plan["stages"] if s["stage"] == "scan")
    assert scan["action"] == "run"
    assert "block on findings at or above high" in scan["actions"]


def test_gate_stops_the_deployment_and_an_ignore_lets_it_through(
    project: DeployedProject, small_db: Path
) -> None:
    secret = next(k for k in KINDS if k.name == "stripe-secret-key").make(random.Random(5))
    project.edit(lambda text: text + SECURITY.format(db=small_db))
    (project.root / "app" / "notes" / "billing.py").write_text(f'STRIPE_KEY = "{secret}"\n')

    done = project.deploy()
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "security gate" in output
    assert "secret.stripe-secret-key" in output and "app/notes/billing.py:1:15" in output
    artifacts = project.root / ".shipway" / "artifacts"
    reports = sorted(artifacts.glob("*/scan.json"))
    assert len(reports) == 1 and (reports[0].parent / "scan.sarif").exists()
    for text in [output, *(p.read_text() for p in reports[0].parent.iterdir())]:
        assert secret not in text and secret[-12:] not in text
    report = json.loads(reports[0].read_text())
    blocking = [f for f in report["findings"] if f["blocking"]]
    assert [f["rule"] for f in blocking] == ["secret.stripe-secret-key"]
    failed = project.json("status", reports[0].parent.name)
    assert failed["status"] in {"failed", "rolled_back"}

    ignore = (
        "  ignore:\n"
        f"    - id: {blocking[0]['id']}\n"
        "      reason: a revoked key kept as a test fixture\n"
        "      expires: 2099-12-31\n"
    )
    project.edit(lambda text: text + ignore)
    done = project.deploy()
    # The deployment goes on past the gate; how the later stages (release, test) end is
    # theirs to decide, so only the scan stage and what follows it are checked here.
    second = next(p.parent.name for p in artifacts.glob("*/scan.json") if p != reports[0])
    events = _events(project, second)
    types = [e["type"] for e in events]
    assert "SECURITY_SCANNED" in types, done.stdout + done.stderr
    scanned = next(e for e in events if e["type"] == "SECURITY_SCANNED")
    assert scanned["data"]["outputs"]["suppressed"] == [blocking[0]["id"]]
    assert not any(e["type"] == "STAGE_FAILED" and e["stage"] == "scan" for e in events)
    later = [e for e in events[types.index("SECURITY_SCANNED") :] if e.get("stage") == "release"]
    assert later, "the release stage never started after the scan"


def test_a_baseline_lets_known_findings_through_and_reports_go_to_artifacts(
    project: DeployedProject, small_db: Path
) -> None:
    secret = next(k for k in KINDS if k.name == "stripe-secret-key").make(random.Random(6))
    project.edit(lambda text: text + SECURITY.format(db=small_db))
    (project.root / "app" / "notes" / "billing.py").write_text(f'STRIPE_KEY = "{secret}"\n')
    written = project.run("scan", "--baseline", "write", "-e", "dev")
    assert written.returncode == 0, written.stderr
    assert (project.root / ".shipway-baseline.json").exists()
    project.edit(lambda text: text + "  baseline: .shipway-baseline.json\n")
    plan = project.json("plan", "-e", "dev")
    scan = next(s for s in plan["stages"] if s["stage"] == "scan")
    assert "findings in the baseline .shipway-baseline.json do not block" in scan["actions"]

    done = project.deploy()
    (report,) = (project.root / ".shipway" / "artifacts").glob("*/scan.json")
    events = _events(project, report.parent.name)
    scanned = [e for e in events if e["type"] == "SECURITY_SCANNED"]
    assert scanned, done.stdout + done.stderr
    assert scanned[0]["data"]["outputs"]["baselined"] >= 1
    assert scanned[0]["data"]["outputs"]["blocking"] == []
    data = json.loads(report.read_text())
    assert "secret.stripe-secret-key" in {f["rule"] for f in data["baselined"]}
    page = (report.parent / "scan.html").read_text()
    assert "<!DOCTYPE html>" in page and "In the baseline" in page
    for path in report.parent.iterdir():
        assert secret not in path.read_text()
