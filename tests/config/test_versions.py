"""Versions in the state store (SQLite and PostgreSQL): content-addressed and immutable,
an environment's history, diffs; and the configure stage that writes them, with its
compensation, the deployment rollback that brings a release's version back, and
`config.git` (one commit per version)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from shipway.config.stage import ConfigureStage
from shipway.config.versions import ConfigVersion, diff
from shipway.errors import InputError, NotFoundError, StageError
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.names import ROLLBACK_RELEASE
from shipway.orchestrator.stages import registry
from shipway.store import Store
from shipway.workspace import Workspace

from .conftest import Recorder, resolve, stage_context, write_project


def _version(tmp_path: Path, text: str) -> ConfigVersion:
    manifest = write_project(tmp_path, "config:\n  layers: [c.yaml]\n", {"c.yaml": text})
    return resolve(manifest).version()


def test_a_version_is_addressed_by_its_content(tmp_path: Path) -> None:
    a = _version(tmp_path, "b: 2\na: 1\npw: ${secret:pw}\n")
    same = _version(tmp_path, "# a comment\na: 1\nb: 2\npw: ${secret:pw}\n")
    other = _version(tmp_path, "a: 1\nb: 3\npw: ${secret:pw}\n")
    assert a.id == same.id != other.id
    assert a.id.startswith("sha256:") and len(a.id) == 71
    assert a.secrets == {("pw",): ("pw",)}
    back = ConfigVersion.from_content(a.id, a.content)
    assert back == a
    assert [c.to_dict() for c in diff(a, other)] == [
        {"key": "b", "change": "changed", "old": 2, "new": 3}
    ]


def test_the_repository_keeps_versions_and_history(state_url: str, tmp_path: Path) -> None:
    one = _version(tmp_path, "a: 1\n")
    two = _version(tmp_path, "a: 2\n")
    with Store.open(state_url) as store:
        assert store.config.save(one.id, one.content) is True
        assert store.config.save(one.id, {"tampered": True}) is False  # immutable
        assert store.config.get(one.id).content == one.content
        store.config.save(two.id, two.content)
        assert store.config.find(one.id[7:19]).id == one.id
        with pytest.raises(InputError, match="too short"):
            store.config.find("abc")
        with pytest.raises(NotFoundError):
            store.config.find("0" * 12)
        assert store.config.current("notes", "dev") is None
        for version, action, deployment in ((one, "deploy", "d-1"), (two, "set", None)):
            store.config.record(
                project="notes",
                environment="dev",
                version=version.id,
                action=action,
                user="u",
                deployment_id=deployment,
                overrides={"a": 2} if deployment is None else {},
            )
        store.config.record(
            project="notes", environment="prod", version=one.id, action="deploy", user="u"
        )
        history = store.config.history("notes", "dev")
        assert [(h.version, h.action) for h in history] == [(two.id, "set"), (one.id, "deploy")]
        assert history[0].overrides == {"a": 2}
        assert store.config.current("notes", "dev") == history[0]
        applied = store.config.applied_by("d-1")
        assert applied is not None and applied.version == one.id


STAGE_CONFIG = """\
config:
  layers:
    - config/base.yaml
  secrets:
    backend: env
"""


def _stage_project(tmp_path: Path, base: str, extra: str = "") -> Path:
    return write_project(tmp_path, STAGE_CONFIG + extra, {"config/base.yaml": base})


def _store(manifest: Path) -> Store:
    return Store.open(Workspace.at(manifest.parent / ".shipway").state_url)


def test_the_stage_is_registered_and_described(tmp_path: Path) -> None:
    assert registry.get("configure") is ConfigureStage
    assert ConfigureStage.completed_event == STAGE_COMPLETION_EVENTS["configure"]
    manifest = _stage_project(tmp_path, "a: 1\n", "  schema: s.json\n")
    context = stage_context(manifest)
    assert ConfigureStage().configured(context.environment)
    assert ConfigureStage().describe(context.environment) == [
        "merge 1 config layers (config/base.yaml), validate against s.json",
        "check secrets in the env backend and store a version",
    ]


def test_run_stores_a_version_and_compensation_restores_the_previous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "x")
    manifest = _stage_project(tmp_path, "level: 1\npw: ${secret:db_password}\n")
    stage = ConfigureStage()
    first = stage.run(stage_context(manifest, deployment_id="d-1"))
    assert first.outputs["changed"] is True and first.outputs["secrets"] == ["db_password"]
    assert first.outputs["descriptor"]["config_id"] == "notes/dev"
    assert first.outputs["descriptor"]["parameters"] == {"level": 1, "pw": "${secret:db_password}"}
    (tmp_path / "config" / "base.yaml").write_text("level: 2\npw: ${secret:db_password}\n")
    recorder = Recorder()
    second = stage.run(stage_context(manifest, deployment_id="d-2", recorder=recorder))
    assert second.outputs["version"] != first.outputs["version"]
    assert recorder.compensations == [
        {
            "applied": second.outputs["version"],
            "previous": first.outputs["version"],
            "previous_overrides": {},
            "had_previous": True,
        }
    ]
    # The deployment fails later: the saga restores the exact previous version.
    stage.compensate(stage_context(manifest, deployment_id="d-2"), recorder.compensations[0])
    with _store(manifest) as store:
        history = store.config.history("notes", "dev")
    assert [(h.action, h.version) for h in history] == [
        ("compensate", first.outputs["version"]),
        ("deploy", second.outputs["version"]),
        ("deploy", first.outputs["version"]),
    ]
    # Compensating again, or for another deployment, changes nothing.
    stage.compensate(stage_context(manifest, deployment_id="d-2"), recorder.compensations[0])
    with _store(manifest) as store:
        assert len(store.config.history("notes", "dev")) == 3


def test_invalid_config_and_missing_secrets_stop_the_stage(tmp_path: Path) -> None:
    manifest = _stage_project(tmp_path, "a: ${config.b}\n")
    with pytest.raises(StageError, match=r"^config/base.yaml:1:4: a: missing reference"):
        ConfigureStage().run(stage_context(manifest))
    manifest = _stage_project(tmp_path, "a: ${secret:absent_one}\nb: ${secret:absent_two}\n")
    with pytest.raises(StageError) as caught:
        ConfigureStage().run(stage_context(manifest))
    assert str(caught.value) == (
        "unresolved secrets in the env backend for dev: absent_one, absent_two "
        "(set with: shipway secrets set -e dev NAME)"
    )
    with _store(manifest) as store:
        assert store.config.history("notes", "dev") == []


def test_resources_come_from_the_provision_stage(tmp_path: Path) -> None:
    manifest = _stage_project(tmp_path, "db: ${resources.db.url}\n")
    states = {"provision": {"resources": {"db": {"url": "postgres://h/db"}}}}
    outcome = ConfigureStage().run(stage_context(manifest, states=states))
    assert outcome.outputs["descriptor"]["parameters"] == {"db": "postgres://h/db"}
    with pytest.raises(StageError, match=r"no resource 'db' \(provisioned: none\)"):
        ConfigureStage().run(stage_context(manifest))


def test_a_deployment_rollback_brings_back_the_release_version(tmp_path: Path) -> None:
    manifest = _stage_project(tmp_path, "level: 1\n")
    stage = ConfigureStage()
    first = stage.run(stage_context(manifest, deployment_id="d-1"))
    (tmp_path / "config" / "base.yaml").write_text("level: 2\n")
    stage.run(stage_context(manifest, deployment_id="d-2"))
    with _store(manifest) as store:
        release = store.releases.create(
            project="notes",
            environment="dev",
            deployment_id="d-1",
            manifest_digest="m",
            artifact_digest="a",
            services={},
            executor_id="x",
        )
    # The layers on disk now say level 2; the rollback restores what release 1 ran with.
    back = stage.run(
        stage_context(
            manifest, deployment_id="d-3", kind="rollback", shared={ROLLBACK_RELEASE: release.id}
        )
    )
    assert back.outputs["version"] == first.outputs["version"]
    assert back.message.endswith("restored for the rollback")
    with _store(manifest) as store:
        current = store.config.current("notes", "dev")
    assert current is not None and (current.action, current.version) == (
        "rollback",
        first.outputs["version"],
    )


def test_config_git_gets_one_commit_per_version(tmp_path: Path) -> None:
    manifest = _stage_project(tmp_path, "level: 1\n", "  git: config-history\n")
    stage = ConfigureStage()
    ids = []
    for deployment, level in (("d-1", 1), ("d-2", 2), ("d-3", 2), ("d-4", 3)):
        (tmp_path / "config" / "base.yaml").write_text(f"level: {level}\n")
        ids.append(stage.run(stage_context(manifest, deployment_id=deployment)).outputs)
    assert ids[2]["git_commit"] is None  # d-3 applied the version d-2 had: no new commit
    repo = tmp_path / "config-history"
    log = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%s|%b"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    subjects = [line for line in log.splitlines() if "|" in line]
    assert len(subjects) == 3
    assert subjects[0].startswith(f"notes/dev: config {ids[3]['short']} (deploy)|")
    assert "By: deployment d-4" in log
    assert (repo / "dev" / "VERSION").read_text().strip() == ids[3]["version"]
