"""The `pipeline` section: plugins, order with parallel groups, per-stage policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.errors import ManifestError
from shipway.manifest import LoadedManifest, StagePolicy, load_manifest_text
from shipway.manifest.pipeline import DEFAULT_ORDER

from .conftest import MINIMAL

PIPELINE = """\
pipeline:
  plugins: [stages/migrate.py, mypkg.stages]
  order: [validate, provision, [configure, scan], migrate, release, test, observe]
  stages:
    provision: {timeout: 15m, retries: 2, backoff: 2s}
    migrate: {timeout: 1h}
"""


def _load(extra: str) -> LoadedManifest:
    return load_manifest_text(MINIMAL + extra, "/srv/app/shipway.yaml")


def test_pipeline_loads() -> None:
    pipeline = _load(PIPELINE).manifest.pipeline
    assert pipeline.plugins == ["stages/migrate.py", "mypkg.stages"]
    assert pipeline.groups[2] == ("configure", "scan")
    assert pipeline.groups[3] == ("migrate",)
    provision = pipeline.policy("provision")
    assert (provision.timeout, provision.retries, provision.backoff) == (900.0, 2, 2.0)
    assert pipeline.policy("migrate").timeout == 3600.0
    assert pipeline.policy("release") == StagePolicy()


def test_default_pipeline() -> None:
    pipeline = _load("").manifest.pipeline
    assert pipeline.groups == DEFAULT_ORDER
    assert pipeline.plugins == [] and pipeline.stages == {}
    policy = pipeline.policy("provision")
    assert (policy.timeout, policy.retries, policy.backoff) == (None, 0, 1.0)


def test_policies_for_default_stages_need_no_order() -> None:
    stages = _load("pipeline:\n  stages:\n    observe: {retries: 1}\n").manifest.pipeline.stages
    assert stages["observe"].retries == 1


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("pipeline:\n  plugins: [/etc/evil.py]\n", "must stay under the manifest's folder"),
        ("pipeline:\n  plugins: ['C:\\\\evil.py']\n", "must stay under the manifest's folder"),
        ("pipeline:\n  plugins: [a/../../evil.py]\n", "must stay under the manifest's folder"),
        ("pipeline:\n  plugins: [not a module]\n", "invalid plugin"),
        ("pipeline:\n  order: []\n", "at least 1 item"),
        ("pipeline:\n  order: [validate, []]\n", "an empty parallel group"),
        ("pipeline:\n  order: [validate, validate]\n", "appears more than once"),
        ("pipeline:\n  stages: {provision: {retries: -1}}\n", "greater than or equal to 0"),
        ("pipeline:\n  stages: {provision: {backoff: 1}}\n", "expected a duration"),
        ("pipeline:\n  order: [validate]\n  stages: {release: {}}\n", "not in the pipeline order"),
    ],
)
def test_bad_pipelines(extra: str, reason: str) -> None:
    with pytest.raises(ManifestError) as caught:
        _load(extra)
    assert reason in caught.value.reason
    assert caught.value.line is not None


def test_plugin_files_resolve_under_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "shipway.yaml").write_text(MINIMAL)
    loaded = load_manifest_text(MINIMAL, str(tmp_path / "shipway.yaml"))
    assert loaded.resolve_path("stages/migrate.py") == tmp_path.resolve() / "stages/migrate.py"
    (tmp_path / "link").symlink_to("/etc")
    with pytest.raises(ManifestError, match="leaves the manifest's folder"):
        loaded.resolve_path("link/passwd")
