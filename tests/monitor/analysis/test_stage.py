"""The observe stage over samples put in a real state store with `write_samples`: a
worse release fails and its manifest digest is blocked, a healthy one passes, a metric
without data never passes silently, and the marginal, first-release, rollback and
`rollback: false` cases do what docs/decisions/0033 says."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shipway.errors import StageError
from shipway.manifest import load_manifest, resolve_environment
from shipway.models import DeploymentContext
from shipway.monitor.query import write_samples
from shipway.orchestrator.stages import StageContext, registry
from shipway.store import Store
from shipway.store.records import DeploymentRecord, ReleaseRecord

DURATION = 2.0

MANIFEST = """\
version: 1
project: notes
environments:
  dev: {{target: local}}
monitoring:
  analysis:
    duration: {duration}s
    step: 250ms
    on_no_data: {on_no_data}
    rollback: {rollback}
    metrics:
{metrics}
"""
ERROR_RATIO = """\
      - name: error_ratio
        query: error_ratio
        max_increase: 0.02
"""


@dataclass
class Recorder:
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def types(self) -> list[str]:
        return [kind for kind, _, _ in self.events]

    def data(self, kind: str) -> dict[str, Any]:
        return next(data for k, _, data in self.events if k == kind)


@dataclass
class Setup:
    root: Path
    store: Store
    recorder: Recorder = field(default_factory=Recorder)

    def manifest(self, metrics: str = ERROR_RATIO, **fields: Any) -> Path:
        fields.setdefault("on_no_data", "fail")
        fields.setdefault("rollback", "true")
        text = MANIFEST.format(duration=DURATION, metrics=metrics, **fields)
        path = self.root / "shipway.yaml"
        path.write_text(text)
        return path

    def release(self, number: int, digest: str) -> ReleaseRecord:
        deployment = self.store.deployments.create(
            DeploymentRecord(id=f"dep-{number}", project="notes", environment="dev")
        )
        release = self.store.releases.create(
            project="notes",
            environment="dev",
            deployment_id=deployment.id,
            manifest_digest=digest,
            artifact_digest="sha256:app",
            services={},
            executor_id="test",
        )
        return self.store.releases.activate(release.id)

    def context(self, manifest: Path, release: ReleaseRecord, kind: str = "deploy") -> StageContext:
        loaded = load_manifest(manifest)
        return StageContext(
            deployment=DeploymentContext(
                release.deployment_id,
                "dev",
                "c-1",
                "tester",
                loaded.digest,
                component_states={"release": {"release": release.id}},
            ),
            loaded=loaded,
            environment=resolve_environment(loaded, "dev"),
            home=self.root / ".shipway",
            kind=kind,
            attempt=1,
            _emit=lambda t, m, d: self.recorder.events.append((t, m, d)),
            _register=lambda data: None,
            _cancel=threading.Event(),
        )

    def write(
        self, release: str, start: float, end: float, level: float, name: str = "error_ratio"
    ) -> None:
        rng = random.Random(f"{release}{level}")
        count = int((end - start) / 0.1)
        write_samples(
            self.store,
            "notes",
            "dev",
            [
                (name, {"release": release, "job": "api"}, start + i * 0.1, rng.gauss(level, 0.004))
                for i in range(count + 1)
            ],
        )


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.delenv("SHIPWAY_STATE_URL", raising=False)
    monkeypatch.delenv("SHIPWAY_HOME", raising=False)
    (tmp_path / ".shipway").mkdir()
    with Store.open(f"sqlite:///{tmp_path / '.shipway' / 'state.db'}") as store:
        yield Setup(tmp_path, store)


def _two_releases(setup: Setup, manifest: Path, old: float, new: float) -> StageContext:
    """r1 served at `old` before r2 took over; r2 serves at `new` from now on."""
    first = setup.release(1, "sha256:previous-manifest")
    setup.write(first.id, time.time() - 3 * DURATION, time.time(), old)
    second = setup.release(2, load_manifest(manifest).digest)
    setup.write(second.id, time.time(), time.time() + 3 * DURATION, new)
    return setup.context(manifest, second)


def _run(ctx: StageContext) -> Any:
    stage = registry.get("observe")
    assert stage is not None
    return stage().run(ctx)


def test_a_release_that_doubles_the_error_ratio_fails_and_is_blocked(setup: Setup) -> None:
    manifest = setup.manifest()
    ctx = _two_releases(setup, manifest, old=0.1, new=0.2)
    with pytest.raises(StageError, match=r"analysis fail: score 0 \(error_ratio high\)"):
        _run(ctx)
    assert setup.recorder.types() == ["ANALYSIS_STARTED", "ANALYSIS_COMPLETED"]
    outputs = setup.recorder.data("ANALYSIS_COMPLETED")["outputs"]
    assert outputs["verdict"] == "fail" and outputs["score"] == 0
    (metric,) = outputs["metrics"]
    assert metric["verdict"] == "high"
    assert metric["difference"] == pytest.approx(0.1, abs=0.01)
    assert metric["new_samples"] >= 8 and metric["baseline_samples"] >= 8
    block = setup.store.environments.blocked("notes/dev")
    assert block is not None and block.digest == ctx.deployment.manifest_digest
    assert "rolled back from deployment dep-2 by its post-release analysis" in block.reason
    (stored,) = setup.store.analyses.analyses("notes", "dev")
    assert stored.verdict == "fail" and stored.release_id == "notes-dev-r2"
    assert stored.baseline_release_id == "notes-dev-r1"


def test_a_healthy_release_passes_with_its_score(setup: Setup) -> None:
    manifest = setup.manifest()
    outcome = _run(_two_releases(setup, manifest, old=0.1, new=0.1))
    assert outcome.status == "succeeded"
    assert outcome.outputs["verdict"] == "pass" and outcome.outputs["score"] == 100
    assert outcome.outputs["metrics"][0]["verdict"] == "pass"
    assert outcome.message.startswith("analysis pass: score 100")
    # The runner emits ANALYSIS_COMPLETED with these outputs; nothing failed, nothing blocked.
    assert setup.recorder.types() == ["ANALYSIS_STARTED"]
    assert setup.store.environments.blocked("notes/dev") is None


MISSING = """\
      - name: error_ratio
        query: error_ratio
        max_increase: 0.02
      - name: latency
        query: no_such_metric
"""


def test_a_metric_without_data_fails_the_analysis(setup: Setup) -> None:
    manifest = setup.manifest(MISSING)
    with pytest.raises(StageError, match="latency no data"):
        _run(_two_releases(setup, manifest, old=0.1, new=0.1))
    outputs = setup.recorder.data("ANALYSIS_COMPLETED")["outputs"]
    assert outputs["verdict"] == "fail" and outputs["score"] == 50
    latency = outputs["metrics"][1]
    assert latency["verdict"] == "no_data" and latency["counted"] == "fail"
    assert "the new release has 0 samples and the previous release has 0" in latency["reason"]


def test_no_data_under_inconclusive_rolls_back_without_blocking(setup: Setup) -> None:
    manifest = setup.manifest(MISSING, on_no_data="inconclusive")
    with pytest.raises(StageError, match="analysis inconclusive: score 100"):
        _run(_two_releases(setup, manifest, old=0.1, new=0.1))
    assert setup.store.environments.blocked("notes/dev") is None


def test_no_data_under_pass_passes_and_says_so(setup: Setup) -> None:
    manifest = setup.manifest(MISSING, on_no_data="pass")
    outcome = _run(_two_releases(setup, manifest, old=0.1, new=0.1))
    assert outcome.outputs["verdict"] == "pass"
    latency = outcome.outputs["metrics"][1]
    assert latency["verdict"] == "no_data"
    assert "on_no_data: pass, counted as a pass" in latency["reason"]
    assert "latency no data" in outcome.message


def test_a_marginal_score_keeps_the_release_with_a_warning(setup: Setup) -> None:
    metrics = """\
      - name: error_ratio
        query: error_ratio
        max_increase: 0.02
      - name: throughput
        query: throughput
        direction: decrease
        weight: 3
"""
    manifest = setup.manifest(metrics)
    ctx = _two_releases(setup, manifest, old=0.1, new=0.2)
    setup.write("notes-dev-r1", time.time() - 4 * DURATION, time.time(), 50, name="throughput")
    setup.write("notes-dev-r2", time.time(), time.time() + 3 * DURATION, 50, name="throughput")
    outcome = _run(ctx)
    assert outcome.outputs["verdict"] == "marginal" and outcome.outputs["score"] == 75
    assert outcome.message.startswith("WARNING: analysis marginal: score 75")
    assert setup.store.environments.blocked("notes/dev") is None


def test_rollback_false_reports_a_failure_and_keeps_the_release(setup: Setup) -> None:
    manifest = setup.manifest(rollback="false")
    outcome = _run(_two_releases(setup, manifest, old=0.1, new=0.2))
    assert outcome.outputs["verdict"] == "fail"
    assert "rollback is false: kept" in outcome.message
    assert setup.store.environments.blocked("notes/dev") is None


def test_a_first_release_is_not_analysed_and_says_so(setup: Setup) -> None:
    manifest = setup.manifest()
    first = setup.release(1, load_manifest(manifest).digest)
    outcome = _run(setup.context(manifest, first))
    assert outcome.status == "skipped"
    assert "first release of dev" in outcome.message and "no verdict" in outcome.message
    assert setup.recorder.events == []


def test_a_rollback_deployment_is_not_analysed(setup: Setup) -> None:
    manifest = setup.manifest()
    ctx = _two_releases(setup, manifest, old=0.1, new=0.2)
    ctx.kind = "rollback"
    outcome = _run(ctx)
    assert outcome.status == "skipped" and "rollback" in outcome.message


def test_the_stage_is_configured_only_with_analysis_metrics(setup: Setup) -> None:
    stage = registry.get("observe")
    assert stage is not None
    with_metrics = resolve_environment(load_manifest(setup.manifest()), "dev")
    assert stage().configured(with_metrics)
    assert "compare error_ratio" in stage().describe(with_metrics)[0]
    bare = setup.root / "bare.yaml"
    bare.write_text("version: 1\nproject: notes\nenvironments:\n  dev: {target: local}\n")
    assert not stage().configured(resolve_environment(load_manifest(bare), "dev"))


def test_a_query_that_does_not_parse_fails_at_once(setup: Setup) -> None:
    metrics = """\
      - name: broken
        query: sum(rate(http_requests_total[5s])
"""
    manifest = setup.manifest(metrics)
    started = time.monotonic()
    with pytest.raises(StageError, match="analysis metric 'broken': "):
        _run(_two_releases(setup, manifest, old=0.1, new=0.1))
    assert time.monotonic() - started < DURATION  # before watching the release
    assert setup.recorder.events == []
