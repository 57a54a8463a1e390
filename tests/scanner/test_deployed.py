"""`shipway scan -e ENV` on a deployed copy of the example project: the runtime scanner
probes the released service found in the state store (its public URL, its process tree,
its private port), and the misconfiguration rules read the resources the store records
for the environment."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from shipway.scanner.runtime.endpoints import released_services
from shipway.scanner.runtime.ports import listening
from shipway.store import Store
from shipway.workspace import Workspace
from tests.runtime.deployed import DeployedProject


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedProject]:
    project = DeployedProject(tmp_path_factory.mktemp("deployed") / "notes")
    try:
        done = project.deploy()
        assert done.returncode == 0, done.stdout + done.stderr
        yield project
    finally:
        project.close()


def scan_json(project: DeployedProject, *args: str) -> tuple[int, dict[str, Any]]:
    done = project.run("scan", "-e", "dev", "--format", "json", *args)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, json.loads(done.stdout)


def test_runtime_scan_of_the_released_example(deployed: DeployedProject) -> None:
    _, report = scan_json(deployed, "--scanner", "runtime", "--fail-on", "critical")
    findings = report["findings"]
    rules = {f["rule"] for f in findings}
    # What the service sends, read here independently of the scanner.
    with urllib.request.urlopen(deployed.url + "/", timeout=10) as response:
        sent = {k.lower(): v for k, v in response.headers.items()}
    expected = set()
    if sent.get("x-content-type-options", "").lower() != "nosniff":
        expected.add("runtime.missing-content-type-options")
    if "x-frame-options" not in sent and "frame-ancestors" not in sent.get(
        "content-security-policy", ""
    ):
        expected.add("runtime.missing-frame-protection")
    if "content-security-policy" not in sent:
        expected.add("runtime.missing-csp")
    if "referrer-policy" not in sent:
        expected.add("runtime.missing-referrer-policy")
    if any(c.isdigit() for c in sent.get("server", "")):
        expected.add("runtime.server-version-disclosure")
    # Plain HTTP through the switching proxy: nothing about TLS or HSTS; the service
    # answers; it listens only on its private port (declared by the release).
    assert rules == expected
    with Store.open(Workspace.for_manifest(deployed.manifest).state_url) as store:
        active = store.releases.active("notes", "dev")
        (endpoint,) = released_services(store, "notes", "dev")
    assert active is not None
    # The ports check had something to look at: the service's process, its private port.
    assert endpoint.pids and endpoint.url == deployed.url
    assert len(endpoint.declared_ports) == 2 and deployed.port in endpoint.declared_ports
    assert set(listening(endpoint.pids)) == set(endpoint.declared_ports) - {deployed.port}
    for finding in findings:
        assert finding["properties"]["service"] == "api"
        assert finding["properties"]["url"] == deployed.url
        assert finding["properties"]["release"] == active.id
        assert finding["location"]["path"] == "shipway.yaml" and finding["location"]["line"]
    assert {r["name"]: r["status"] for r in report["scanners"]} == {"runtime": "ran"}


def test_recorded_resources_are_scanned(deployed: DeployedProject) -> None:
    ws = Workspace.for_manifest(deployed.manifest)
    with Store.open(ws.state_url) as store:
        store.resources.put(
            project="notes",
            environment="dev",
            name="uploads",
            type="local.directory",
            resource_id=str(deployed.root / "data" / "uploads"),
            attributes={"path": "data/uploads", "mode": "0777"},
            outputs={"path": str(deployed.root / "data" / "uploads")},
            dependencies=[],
            prevent_destroy=False,
            by="test",
        )
    try:
        _, report = scan_json(deployed, "--scanner", "misconfiguration")
        (finding,) = [
            f for f in report["findings"] if f["rule"] == "misconfig.world-accessible-directory"
        ]
        assert finding["properties"]["resource"].startswith("local.directory/")
        assert "rwx" in finding["title"]
        # Without -e nothing deployed is read: the manifest alone is clean.
        done = deployed.run("scan", "--scanner", "misconfiguration", "--format", "json")
        assert json.loads(done.stdout)["findings"] == []
    finally:
        with Store.open(ws.state_url) as store:
            store.resources.remove("notes", "dev", "uploads")


def test_the_stage_scans_the_serving_release_and_recorded_resources(
    deployed: DeployedProject,
) -> None:
    ws = Workspace.for_manifest(deployed.manifest)
    with Store.open(ws.state_url) as store:
        serving = store.releases.active("notes", "dev")
        store.resources.put(
            project="notes",
            environment="dev",
            name="cache",
            type="redis.acl_user",
            resource_id="notes_app",
            attributes={"commands": "~notes:* +@all"},
            outputs={},
            dependencies=[],
            prevent_destroy=False,
            by="test",
        )
    deployed.edit(
        lambda text: (
            text + "security:\n  fail_on: critical\n  scanners: [misconfiguration, runtime]\n"
        )
    )
    try:
        done = deployed.deploy()
        reports = sorted((deployed.root / ".shipway" / "artifacts").glob("*/scan.json"))
        assert reports, done.stdout + done.stderr
        report = json.loads(reports[-1].read_text())
        outputs = next(
            e["data"]["outputs"]
            for e in _events(deployed, reports[-1].parent.name)
            if e["type"] == "SECURITY_SCANNED"
        )
    finally:
        with Store.open(ws.state_url) as store:
            store.resources.remove("notes", "dev", "cache")
    assert outputs["services"] == ["api"] and outputs["resources"] == 1
    assert serving is not None
    runtime = [f for f in report["findings"] if f["scanner"] == "runtime"]
    assert runtime and {f["properties"]["release"] for f in runtime} == {serving.id}
    redis = [f for f in report["findings"] if f["rule"] == "misconfig.redis-dangerous-commands"]
    assert [f["properties"]["resource"] for f in redis] == ["redis.acl_user/notes_app"]


def _events(project: DeployedProject, deployment: str) -> list[dict[str, Any]]:
    done = project.run("events", deployment, "--output", "json")
    assert done.returncode == 0, done.stderr
    decoder, text, position, out = json.JSONDecoder(), done.stdout, 0, []
    while text[position:].strip():
        position += len(text[position:]) - len(text[position:].lstrip())
        event, position = decoder.raw_decode(text, position)
        out.append(event)
    return out
