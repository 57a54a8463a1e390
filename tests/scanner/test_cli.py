"""`shipway scan` as a user runs it: formats, exit codes, one-line errors with positions,
SARIF that validates against the 2.1.0 schema, and no secret value in any output."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import jsonschema
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
    security:
      fail_on: critical
security:
  fail_on: high
  scanners: [dependencies, secrets]
  vulnerability_db: {db}
  ignore:
    - id: PYSEC-2022-42969
      reason: the ReDoS needs a hostile Subversion server
      expires: 2099-01-01
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, snapshot: Path) -> tuple[Path, list[str]]:
    """A small repository: vulnerable pins, a live secret in the tree and one in history."""
    import random
    import shutil

    tmp_path = tmp_path_factory.mktemp("cli")
    db = tmp_path / "osv"
    for package in ("aiohttp", "py"):
        shutil.copytree(snapshot / package, db / package)
    rng = random.Random(11)
    kinds = {k.name: k for k in KINDS}
    live = kinds["stripe-secret-key"].make(rng)
    old = kinds["github-pat"].make(rng)
    root = tmp_path / "shop"
    root.mkdir()
    (root / "shipway.yaml").write_text(MANIFEST.format(db=db))
    (root / "requirements.txt").write_text("aiohttp==3.7.3\npy==1.11.0\nflask>=2\n")
    (root / "billing.py").write_text(f'STRIPE_KEY = "{live}"\n')
    (root / "ci.env").write_text(f"GITHUB_TOKEN={old}\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    (root / "ci.env").write_text("GITHUB_TOKEN=${GITHUB_TOKEN}\n")
    git(root, "commit", "-q", "-am", "two")
    return root, [live, old]


@pytest.fixture(scope="module")
def outputs(project: tuple[Path, list[str]]) -> dict[str, subprocess.CompletedProcess[str]]:
    """`shipway scan` in each format, in a subprocess as a user runs it."""
    root, _ = project
    return {fmt: run_cli("scan", str(root), "--format", fmt, cwd=root.parent)
            for fmt in ("table", "json", "sarif")}  # fmt: skip


def shipway(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI in this process (quicker than a subprocess): exit code, stdout, stderr."""
    with warnings.catch_warnings():
        # Typer warns about an option of another command group at import time.
        warnings.simplefilter("ignore", DeprecationWarning)
        from shipway.cli.app import main
    with pytest.raises(SystemExit) as done:
        main(list(args))
    captured = capsys.readouterr()
    return int(done.value.code or 0), captured.out, captured.err


def test_table_groups_by_severity_and_exits_1(outputs: dict[str, Any]) -> None:
    done = outputs["table"]
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "FAILED" in out and "CRITICAL" in out and "HIGH" in out
    assert out.index("CRITICAL") < out.index("HIGH")
    assert "billing.py:1:15" in out and "secret.stripe-secret-key" in out
    assert "requirements.txt:1" in out and "PYSEC-2021-76" in out
    assert "why:" in out and "fix:" in out and "SOC2 CC6.1" in out
    assert "accepted until 2099-01-01: PYSEC-2022-42969" in out


def test_json_output(outputs: dict[str, Any]) -> None:
    done = outputs["json"]
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["passed"] is False and data["fail_on"] == "high"
    by_rule = {f["rule"]: f for f in data["findings"]}
    history = by_rule["secret.github-pat"]
    assert history["location"]["path"] == "ci.env" and len(history["location"]["commit"]) == 40
    assert by_rule["secret.stripe-secret-key"]["blocking"] is True
    assert [s["finding"]["id"] for s in data["suppressed"]] == ["PYSEC-2022-42969"]
    assert {r["name"]: r["status"] for r in data["scanners"]} == {
        "dependencies": "ran",
        "secrets": "ran",
    }


def test_sarif_validates_against_the_schema(
    outputs: dict[str, Any], sarif_schema: dict[str, Any]
) -> None:
    done = outputs["sarif"]
    assert done.returncode == 1, done.stderr
    sarif = json.loads(done.stdout)
    jsonschema.validate(sarif, sarif_schema)
    run = sarif["runs"][0]
    rules = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert {"dependency.vulnerability", "secret.stripe-secret-key", "secret.github-pat"} <= rules
    for result in run["results"]:
        assert result["ruleId"] in rules
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/")
        assert float(result["properties"]["security-severity"]) > 0
        assert result["partialFingerprints"]
    suppressed = [r for r in run["results"] if r.get("suppressions")]
    assert [r["properties"]["id"] for r in suppressed] == ["PYSEC-2022-42969"]


def test_no_secret_value_in_any_output(
    project: tuple[Path, list[str]], outputs: dict[str, Any]
) -> None:
    _, secrets = project
    text = "\n".join(o.stdout + o.stderr for o in outputs.values())
    assert "secret.stripe-secret-key" in text
    for secret in secrets:
        assert secret not in text
        assert secret[-12:] not in text


def test_environment_policy_and_fail_on(
    project: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = project
    # prod blocks only critical findings; the Stripe key is critical.
    assert shipway(capsys, "scan", str(root), "-e", "prod")[0] == 1
    code, out, _ = shipway(capsys, "scan", str(root), "--scanner", "dependencies", "-e", "prod")
    assert code == 0, out
    assert "passed" in out
    code, out, _ = shipway(
        capsys, "scan", str(root), "--scanner", "dependencies", "--fail-on", "medium", "-e", "prod"
    )
    assert code == 1


def test_bad_inputs_exit_2_with_one_line(
    project: tuple[Path, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    original, _ = project
    root = tmp_path / "copy"
    shutil.copytree(original, root)
    manifest = root / "shipway.yaml"
    manifest.write_text(MANIFEST.format(db="missing-osv-export"))
    code, _, err = shipway(capsys, "scan", str(root))
    assert code == 2
    line = MANIFEST.splitlines().index("  vulnerability_db: {db}") + 1
    missing = root / "missing-osv-export"
    assert err.strip() == f"error: {manifest}:{line}:21: vulnerability_db {missing} does not exist"
    (root / "requirements.txt").write_text("aiohttp==3.7.3\naiohttp = = 3\n")
    args = ("--scanner", "dependencies", "--vulnerability-db", str(tmp_path))
    code, _, err = shipway(capsys, "scan", str(root), *args)
    assert code == 2
    assert err.startswith(f"error: {root / 'requirements.txt'}:2:1: invalid requirement")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for bad in (["--fail-on", "urgent"], ["-e", "staging"], [str(root / "nope")]):
        code, _, err = shipway(capsys, "scan", str(root), *bad)
        assert code == 2, bad
        assert len(err.strip().splitlines()) == 1, err
