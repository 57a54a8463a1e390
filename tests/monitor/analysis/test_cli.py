"""`shipway metrics anomalies` and `shipway metrics analyses` read what the agent and the
observe stage recorded, through the real command in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from shipway.store import Store
from shipway.store.records import DeploymentRecord

MANIFEST = "version: 1\nproject: notes\nenvironments:\n  dev: {}\n  prod: {}\n"


def _shipway(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=60,
    )


def test_recorded_anomalies_and_analyses_are_listed(tmp_path: Path) -> None:
    (tmp_path / "shipway.yaml").write_text(MANIFEST)
    now = time.time()
    with Store.open(f"sqlite:///{tmp_path / '.shipway' / 'state.db'}") as store:
        store.deployments.create(DeploymentRecord(id="d1", project="notes", environment="dev"))
        for at, rule in ((now - 7200, "latency"), (now - 60, "errors")):
            store.analyses.record_anomaly(
                project="notes",
                environment="dev",
                rule=rule,
                detector="zscore",
                series_key="k",
                labels={"service": "api"},
                at=at,
                value=9.5,
                expected=1.0,
                score=7.25,
                deployment_id="d1",
            )
        store.analyses.record_analysis(
            deployment_id="d1",
            project="notes",
            environment="dev",
            release_id="notes-dev-r2",
            baseline_release_id="notes-dev-r1",
            verdict="fail",
            score=40.0,
            reason="error_rate is higher",
            metrics=[{"name": "error_rate", "verdict": "high", "reason": "+0.1 over 0.01"}],
            windows={},
        )

    recent = _shipway(
        tmp_path, "metrics", "anomalies", "-e", "dev", "--since", "1h", "--output", "json"
    )
    assert recent.returncode == 0, recent.stderr
    [only] = json.loads(recent.stdout)
    assert (only["rule"], only["detector"], only["score"]) == ("errors", "zscore", 7.25)
    table = _shipway(tmp_path, "metrics", "anomalies", "-e", "dev")
    assert "latency" in table.stdout and "errors" in table.stdout

    listed = _shipway(tmp_path, "metrics", "analyses", "-e", "dev")
    assert listed.returncode == 0, listed.stderr
    assert "notes-dev-r2 vs notes-dev-r1  fail (40)" in listed.stdout
    assert "error_rate: high +0.1 over 0.01" in listed.stdout
    as_json = json.loads(
        _shipway(tmp_path, "metrics", "analyses", "-e", "dev", "--output", "json").stdout
    )
    assert as_json[0]["verdict"] == "fail" and as_json[0]["metrics"][0]["name"] == "error_rate"

    none = _shipway(tmp_path, "metrics", "analyses", "-e", "prod")
    assert none.returncode == 0 and "no analyses recorded" in none.stdout
    bad = _shipway(tmp_path, "metrics", "anomalies", "-e", "qa")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
