"""The provision stage in-process over a real state store: what it registers before
acting, what it reports, and a compensation that removes only what its run created
(including a resource created but never recorded), never what existed before."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from shipway.errors import StageError
from shipway.manifest import load_manifest, resolve_environment
from shipway.models import DeploymentContext
from shipway.orchestrator.stages import StageContext
from shipway.provisioner.stage import ProvisionStage

from .project import open_store, shipway, write_manifest

PRE = "  pre:\n    type: local.directory\n    path: pre\n"
MINE = (
    "  a:\n    type: local.directory\n    path: a\n"
    "  b:\n    type: local.sqlite\n    path: ${resources.a.path}/b.db\n"
    "  keep:\n    type: local.directory\n    path: keep\n    prevent_destroy: true\n"
)


def _context(root: Path, registered: list[dict[str, Any]], deployment: str = "d-1") -> StageContext:
    loaded = load_manifest(root / "shipway.yaml")
    return StageContext(
        deployment=DeploymentContext(deployment, "dev", "c-1", "tester", loaded.digest),
        loaded=loaded,
        environment=resolve_environment(loaded, "dev"),
        home=root / ".shipway",
        kind="deploy",
        attempt=1,
        _emit=lambda t, m, d: None,
        _register=registered.append,
        _cancel=threading.Event(),
    )


def test_the_stage_applies_reports_and_compensates_only_its_own_creations(
    tmp_path: Path,
) -> None:
    write_manifest(tmp_path, PRE)
    assert shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path).returncode == 0
    write_manifest(tmp_path, PRE + MINE)
    registered: list[dict[str, Any]] = []
    ctx = _context(tmp_path, registered)
    outcome = ProvisionStage().run(ctx)
    assert sorted(registered[0]["creates"]) == ["a", "b", "keep"] and len(registered) == 1
    assert outcome.message.startswith("applied: 3 to create")
    assert set(outcome.outputs["resources"]) == {"pre", "a", "b", "keep"}
    assert outcome.outputs["resources"]["b"]["url"] == f"sqlite:///{tmp_path.resolve()}/a/b.db"
    assert sorted(outcome.outputs["created"]) == ["a", "b", "keep"]
    with open_store(tmp_path) as store:
        assert {r.name: r.created_by for r in store.resources.list("demo", "dev")} == {
            "pre": "cli",
            "a": "d-1",
            "b": "d-1",
            "keep": "d-1",
        }
    ProvisionStage().compensate(ctx, registered[0])
    assert (tmp_path / "pre").is_dir()
    assert not (tmp_path / "a").exists()
    assert (tmp_path / "keep").is_dir()  # prevent_destroy holds in a rollback too
    with open_store(tmp_path) as store:
        assert sorted(r.name for r in store.resources.list("demo", "dev")) == ["keep", "pre"]


def test_compensation_removes_a_creation_that_was_never_recorded(tmp_path: Path) -> None:
    write_manifest(tmp_path, "  a:\n    type: local.directory\n    path: a\n")
    (tmp_path / "a").mkdir()  # created by an attempt that died before recording it
    ProvisionStage().compensate(_context(tmp_path, []), {"creates": ["a"]})
    assert not (tmp_path / "a").exists()


def test_a_failing_apply_fails_the_stage_with_the_providers_error(tmp_path: Path) -> None:
    write_manifest(
        tmp_path,
        "  ok:\n    type: local.directory\n    path: ok\n"
        '  bad:\n    type: local.sqlite\n    path: bad.db\n    schema: "CREATE TABLEX t;"\n',
    )
    registered: list[dict[str, Any]] = []
    with pytest.raises(StageError, match=r"bad: cannot create SQLite database .*syntax error"):
        ProvisionStage().run(_context(tmp_path, registered))
    assert registered == [{"creates": ["ok", "bad"]}]  # registered before anything was made
    with open_store(tmp_path) as store:
        assert [r.name for r in store.resources.list("demo", "dev")] == ["ok"]
