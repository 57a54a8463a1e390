"""`shipway scan` report options as a user runs them (subprocess): the HTML page (parsed
with html.parser: counts, groups, no secret, nothing external), the CycloneDX SBOM
(validated with cyclonedx-python-lib's JSON validator), control coverage, and baselines
that survive line moves and let only new findings through the gate."""

from __future__ import annotations

import json
import random
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.scanner.conftest import run_cli
from tests.scanner.corpus import KINDS, git

MANIFEST = """\
version: 1
project: shop
environments:
  dev:
    target: local
  prod:
    extends: dev
    approval: required
services:
  web:
    run: python -m shop --port ${{port}}
    port: 8080
    health: {{http: /health}}
    limits: {{memory: 128Mi}}
    env:
      ADMIN_DATABASE_URL: postgres://postgres:postgres@127.0.0.1:5432/shop
security:
  fail_on: high
  scanners: [dependencies, secrets, misconfiguration, code]
  vulnerability_db: {db}
"""
APP = """\
import subprocess


def run(command):
    return subprocess.call(command, shell=True)
"""


@pytest.fixture
def project(tmp_path: Path, snapshot: Path) -> tuple[Path, str]:
    db = tmp_path / "osv"
    for package in ("aiohttp", "jinja2"):
        shutil.copytree(snapshot / package, db / package)
    secret = next(k for k in KINDS if k.name == "stripe-secret-key").make(random.Random(3))
    root = tmp_path / "shop"
    root.mkdir()
    (root / "shipway.yaml").write_text(MANIFEST.format(db=db))
    (root / "requirements.txt").write_text("aiohttp==3.7.3\njinja2==3.1.6\nflask>=2\n")
    (root / "billing.py").write_text(f'STRIPE_KEY = "{secret}"\n')
    (root / "app.py").write_text(APP)
    return root, secret


class Page(HTMLParser):
    """What the tests read from the report page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, int] = {}
        self.findings: dict[str, list[str]] = {}
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []
        self.controls = 0
        self._section = ""
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.add(tag)
        self.attributes.extend(attrs)
        classes = (found.get("class") or "").split()
        if tag == "section" and "severity" in classes:
            self._section = found["id"] or ""
            self.sections[self._section] = int(found["data-count"] or 0)
        if tag == "article" and "finding" in classes:
            self.findings.setdefault(self._section, []).append(found["data-rule"] or "")
        if tag == "tr" and "control" in classes:
            self.controls += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report(project: tuple[Path, str]) -> None:
    root, secret = project
    done = run_cli("scan", str(root), "--format", "json", cwd=root)
    data = json.loads(done.stdout)
    page_run = run_cli("scan", str(root), "--format", "html", "--compliance", "soc2", cwd=root)
    assert page_run.returncode == 1, page_run.stderr
    html = page_run.stdout
    page = Page()
    page.feed(html)
    counts = {label: n for label, n in data["counts"].items() if n}
    assert page.sections == counts
    assert {k: len(v) for k, v in page.findings.items()} == counts
    assert page.findings["critical"] == ["secret.stripe-secret-key"]
    assert "dependency.vulnerability" in page.findings["high"]
    assert "misconfig.default-credentials" in page.findings["high"]
    text = " ".join(page.text)
    assert "why" in text and "fix" in text and "SOC2 CC6.1" in text and "risk" in text
    assert "billing.py:1:15" in text and "sk_live_" in text  # the redacted form
    assert secret not in html and secret[-12:] not in html
    assert "ADMIN_DATABASE_URL" in text and "postgres:postgres" not in html
    # Self-contained: inline CSS, no scripts, nothing loaded from elsewhere.
    assert "style" in page.tags and "script" not in page.tags and "link" not in page.tags
    assert not [v for k, v in page.attributes if k in ("src", "href")]
    assert page.controls == 11  # every SOC 2 control of the data file


def test_html_escapes_what_it_shows(project: tuple[Path, str]) -> None:
    root, _ = project
    (root / "requirements.txt").write_text("aiohttp==3.7.3\n")
    (root / "x<img src=x onerror=alert(1)>.py").write_text("import pickle\npickle.loads(b'x')\n")
    done = run_cli("scan", str(root), "--format", "html", cwd=root)
    assert "<img" not in done.stdout and "x&lt;img src=x onerror=alert(1)&gt;.py" in done.stdout


def test_sbom_validates_and_carries_vulnerabilities(project: tuple[Path, str]) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    root, secret = project
    sbom = root.parent / "out" / "sbom.cdx.json"
    done = run_cli("scan", str(root), "--scanner", "dependencies", "--sbom", str(sbom), cwd=root)
    assert done.returncode == 1, done.stderr
    text = sbom.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    bom = json.loads(text)
    assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.6"
    purls = {c["purl"] for c in bom["components"]}
    assert purls == {"pkg:pypi/aiohttp@3.7.3", "pkg:pypi/jinja2@3.1.6"}  # flask>=2: no pin
    vulnerabilities = bom["vulnerabilities"]
    assert vulnerabilities and all(
        v["affects"][0]["ref"] == "pkg:pypi/aiohttp@3.7.3" for v in vulnerabilities
    )
    assert "PYSEC-2021-76" in {v["id"] for v in vulnerabilities}
    assert bom["metadata"]["component"]["name"] == "shop"
    assert secret not in text


def test_compliance_coverage(project: tuple[Path, str]) -> None:
    root, _ = project
    done = run_cli("scan", str(root), "--compliance", "soc2", "--format", "json", cwd=root)
    (coverage,) = json.loads(done.stdout)["compliance"]
    status = {c["id"]: c for c in coverage["controls"]}
    assert status["CC6.1"]["status"] == "failing"
    assert "secret.stripe-secret-key" in {f["rule"] for f in status["CC6.1"]["findings"]}
    assert status["CC7.1"]["status"] == "failing"  # the vulnerable aiohttp, bandit's B602
    assert status["CC8.1"]["status"] == "passing"  # prod requires approval
    assert status["CC8.1"]["checked_by"] == ["misconfig.production-without-approval"]
    assert status["CC6.2"]["status"] == "not covered" and status["CC6.2"]["checked_by"] == []
    # Without the runtime scanner, runtime-only evidence is missing: CC7.2 keeps the
    # health-check rule; nothing in it fails.
    assert status["CC7.2"]["status"] == "passing"
    assert coverage["counts"] == {
        "passing": sum(c["status"] == "passing" for c in coverage["controls"]),
        "failing": sum(c["status"] == "failing" for c in coverage["controls"]),
        "not covered": 3,
    }
    table = run_cli("scan", str(root), "--compliance", "hipaa", cwd=root)
    assert "HIPAA control coverage" in table.stdout
    assert "164.312(b)" in table.stdout and "no rule covers it" in table.stdout
    bad = run_cli("scan", str(root), "--compliance", "iso27001", cwd=root)
    assert bad.returncode == 2 and "unknown compliance framework 'iso27001'" in bad.stderr


def test_baseline_write_then_use(project: tuple[Path, str]) -> None:
    root, secret = project
    git(root, "init", "-q", "-b", "main")
    written = run_cli("scan", str(root), "--baseline", "write", cwd=root)
    assert written.returncode == 0, written.stderr
    baseline = root / ".shipway-baseline.json"
    stored = json.loads(baseline.read_text())
    assert secret not in baseline.read_text() and secret[-12:] not in baseline.read_text()
    rules = {e["rule"] for e in stored["findings"]}
    assert {"secret.stripe-secret-key", "dependency.vulnerability", "code.b602"} <= rules
    total = len(stored["findings"])
    assert f"baseline: {total} finding(s) recorded" in written.stderr

    used = run_cli("scan", str(root), "--baseline", "use", "--format", "json", cwd=root)
    assert used.returncode == 0, used.stdout
    report = json.loads(used.stdout)
    assert report["findings"] == [] and len(report["baselined"]) == total
    assert f"{total} known finding(s) set aside, 0 new" in used.stderr

    # Lines move above the known findings, and one new problem arrives.
    (root / "billing.py").write_text("# billing\n\n" + (root / "billing.py").read_text())
    (root / "app.py").write_text("'''Shop commands.'''\n\n\n" + APP)
    fresh = next(k for k in KINDS if k.name == "github-pat").make(random.Random(8))
    (root / "ci.env").write_text(f"GITHUB_TOKEN={fresh}\n")
    used = run_cli("scan", str(root), "--baseline", "use", "--format", "json", cwd=root)
    assert used.returncode == 1
    report = json.loads(used.stdout)
    assert [f["rule"] for f in report["findings"]] == ["secret.github-pat"]
    assert len(report["baselined"]) == total
    assert f"{total} known finding(s) set aside, 1 new" in used.stderr


def test_baseline_from_the_manifest_and_bad_files(project: tuple[Path, str]) -> None:
    root, _ = project
    file = root / "security" / "baseline.json"
    written = run_cli("scan", str(root), "--baseline", "write", "--baseline-file", str(file),
                      cwd=root)  # fmt: skip
    assert written.returncode == 0 and file.exists()
    manifest = root / "shipway.yaml"
    manifest.write_text(manifest.read_text() + "  baseline: security/baseline.json\n")
    assert run_cli("scan", str(root), cwd=root).returncode == 0  # security.baseline applies
    file.write_text('{"format": 1, "findings": [\n  {"fingerprint": 3,}\n]}')
    done = run_cli("scan", str(root), cwd=root)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: {file}:2:21: invalid JSON: Expecting property name enclosed in double quotes"
    )
    file.unlink()
    done = run_cli("scan", str(root), "--baseline", "use", cwd=root)
    assert done.returncode == 2 and "no baseline file" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
