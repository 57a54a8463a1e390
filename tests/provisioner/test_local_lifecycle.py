"""The local providers through the real CLI: plan output for every action, apply,
idempotence, drift after a change by hand, destroy, prevent_destroy and import."""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
import stat
from pathlib import Path

from .project import open_store, shipway, write_manifest

RESOURCES = """\
  uploads:
    type: local.directory
    path: data/uploads
    mode: "0750"
  db:
    type: local.sqlite
    path: data/app.db
    schema: "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"
    depends_on: [uploads]
  cache:
    type: local.directory
    path: ${resources.uploads.path}/cache
"""


def _apply(root: Path) -> str:
    done = shipway("provision", "apply", "-e", "dev", "--yes", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_plan_apply_and_a_second_plan_that_is_empty(tmp_path: Path) -> None:
    write_manifest(tmp_path, RESOURCES)
    planned = shipway("provision", "plan", "-e", "dev", cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    assert "  + create  uploads (local.directory)" in planned.stdout
    assert '      mode: "0750"' in planned.stdout
    assert "      path: (known after apply)" in planned.stdout  # cache's path
    assert "Plan: 3 to create, 0 to update, 0 to replace, 0 to destroy, 0 unchanged." in (
        planned.stdout
    )
    assert not (tmp_path / "data").exists()  # a plan changes nothing
    out = _apply(tmp_path)
    assert "Apply complete! 3 created" in out
    assert stat.S_IMODE((tmp_path / "data" / "uploads").stat().st_mode) == 0o750
    assert (tmp_path / "data" / "uploads" / "cache").is_dir()
    with sqlite3.connect(tmp_path / "data" / "app.db") as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (0,)
    assert f'url: "sqlite:///{tmp_path.resolve()}/data/app.db"' in out
    again = shipway("provision", "plan", "-e", "dev", cwd=tmp_path)
    assert "No changes." in again.stdout
    assert "Plan: 0 to create, 0 to update, 0 to replace, 0 to destroy, 3 unchanged." in (
        again.stdout
    )
    with open_store(tmp_path) as store:
        records = {r.name: r for r in store.resources.list("demo", "dev")}
    assert set(records) == {"uploads", "db", "cache"}
    assert records["cache"].dependencies == ["uploads"]
    assert records["cache"].attributes["path"] == f"{tmp_path.resolve()}/data/uploads/cache"
    assert records["db"].created_by == "cli" and records["db"].serial == 1


def test_update_replace_and_delete_in_one_plan(tmp_path: Path) -> None:
    write_manifest(tmp_path, RESOURCES)
    _apply(tmp_path)
    changed = RESOURCES.replace('mode: "0750"', 'mode: "0700"').replace(
        "path: data/app.db", "path: data/app2.db"
    )
    changed = changed[: changed.index("  cache:")]
    write_manifest(tmp_path, changed)
    done = shipway("provision", "plan", "-e", "dev", "-o", "json", cwd=tmp_path)
    actions = {c["name"]: c["action"] for c in json.loads(done.stdout)["changes"]}
    assert actions == {"uploads": "update", "db": "replace", "cache": "delete"}
    text = shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout
    assert '  ~ update  uploads (local.directory)\n      mode: "0750" -> "0700"' in text
    assert "  -/+ replace  db (local.sqlite)" in text
    assert 'path: "data/app.db" -> "data/app2.db"   # forces replacement' in text
    assert "  - destroy  cache (local.directory)" in text
    assert "Plan: 0 to create, 1 to update, 1 to replace, 1 to destroy, 0 unchanged." in text
    _apply(tmp_path)
    assert stat.S_IMODE((tmp_path / "data" / "uploads").stat().st_mode) == 0o700
    assert not (tmp_path / "data" / "app.db").exists()
    assert (tmp_path / "data" / "app2.db").is_file()
    assert not (tmp_path / "data" / "uploads" / "cache").exists()
    assert "No changes." in shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout


def test_drift_reports_changes_and_deletions_made_by_hand(tmp_path: Path) -> None:
    write_manifest(tmp_path, RESOURCES)
    _apply(tmp_path)
    clean = shipway("provision", "drift", "-e", "dev", cwd=tmp_path)
    assert clean.returncode == 0 and "No drift: 3 resources" in clean.stdout
    os.chmod(tmp_path / "data" / "uploads", 0o777)
    (tmp_path / "data" / "app.db").unlink()
    drift = shipway("provision", "drift", "-e", "dev", cwd=tmp_path)
    assert drift.returncode == 1, drift.stderr
    assert "~ uploads (local.directory): changed outside shipway" in drift.stdout
    assert 'mode: "0750" (recorded) -> "0777" (now)' in drift.stdout
    assert "! db (local.sqlite): deleted outside shipway" in drift.stdout
    report = json.loads(
        shipway("provision", "drift", "-e", "dev", "-o", "json", cwd=tmp_path).stdout
    )
    assert {d["name"]: d["status"] for d in report} == {
        "uploads": "changed",
        "db": "deleted",
        "cache": "in-sync",
    }
    planned = shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout
    assert "+ create  db" in planned and "~ update  uploads" in planned
    _apply(tmp_path)
    assert shipway("provision", "drift", "-e", "dev", cwd=tmp_path).returncode == 0


def test_destroy_asks_and_prevent_destroy_refuses_before_touching_anything(
    tmp_path: Path,
) -> None:
    protected = RESOURCES.replace(
        "    depends_on: [uploads]\n", "    depends_on: [uploads]\n    prevent_destroy: true\n"
    )
    write_manifest(tmp_path, protected)
    _apply(tmp_path)
    refused = shipway("provision", "destroy", "-e", "dev", "--yes", cwd=tmp_path)
    assert refused.returncode == 1
    assert "refusing to destroy db: prevent_destroy is set; nothing was changed" in refused.stderr
    assert (tmp_path / "data" / "uploads" / "cache").is_dir()
    assert (tmp_path / "data" / "app.db").is_file()
    write_manifest(tmp_path, RESOURCES)
    _apply(tmp_path)  # records prevent_destroy: false
    no_tty = shipway("provision", "destroy", "-e", "dev", cwd=tmp_path)
    assert no_tty.returncode == 2
    assert "pass --yes" in no_tty.stderr
    assert (tmp_path / "data" / "app.db").is_file()
    destroyed = shipway("provision", "destroy", "-e", "dev", "--yes", cwd=tmp_path)
    assert destroyed.returncode == 0, destroyed.stderr
    assert "- destroy  cache" in destroyed.stdout and "3 destroyed" in destroyed.stdout
    assert not (tmp_path / "data" / "uploads").exists()
    assert not (tmp_path / "data" / "app.db").exists()
    with open_store(tmp_path) as store:
        assert store.resources.list("demo", "dev") == []


def test_import_adopts_an_existing_directory(tmp_path: Path) -> None:
    write_manifest(
        tmp_path, '  logs:\n    type: local.directory\n    path: var/logs\n    mode: "0700"\n'
    )
    (tmp_path / "var" / "logs").mkdir(parents=True)
    os.chmod(tmp_path / "var" / "logs", 0o755)
    (tmp_path / "var" / "logs" / "keep.txt").write_text("kept")
    bad = shipway("provision", "import", "-e", "dev", "local.directory.nope", "var/x", cwd=tmp_path)
    assert bad.returncode == 2 and "no resource 'local.directory.nope'" in bad.stderr
    missing = shipway(
        "provision", "import", "-e", "dev", "local.directory.logs", "var/none", cwd=tmp_path
    )
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    done = shipway(
        "provision", "import", "-e", "dev", "local.directory.logs", "var/logs", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Imported local.directory.logs (var/logs)" in done.stdout
    planned = shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout
    assert '~ update  logs (local.directory)\n      mode: "0755" -> "0700"' in planned
    _apply(tmp_path)
    assert (tmp_path / "var" / "logs" / "keep.txt").read_text() == "kept"
    again = shipway(
        "provision", "import", "-e", "dev", "local.directory.logs", "var/logs", cwd=tmp_path
    )
    assert again.returncode == 2 and "already managed" in again.stderr


def test_owner_a_found_unrecorded_resource_and_json_output(tmp_path: Path) -> None:
    write_manifest(
        tmp_path, "  box:\n    type: local.directory\n    path: box\n    owner: nobody\n"
    )
    (tmp_path / "box").mkdir()  # exists, as an apply that died before recording leaves it
    os.chmod(tmp_path / "box", 0o755)
    os.chown(tmp_path / "box", 0, -1)
    planned = shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout
    assert '  ~ update  box (local.directory)\n      owner: "root" -> "nobody"' in planned
    os.chown(tmp_path / "box", pwd.getpwnam("nobody").pw_uid, -1)
    planned = shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout
    assert "  <= record  box (local.directory)  (exists, not yet recorded)" in planned
    assert "0 unchanged, 1 to record." in planned
    done = shipway("provision", "apply", "-e", "dev", "--yes", "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["done"] == [{"name": "box", "action": "import"}]
    assert result["outputs"]["box"]["owner"] == "nobody"
    write_manifest(tmp_path, '  box:\n    type: local.directory\n    path: box\n    owner: "0"\n')
    _apply(tmp_path)
    assert (tmp_path / "box").stat().st_uid == 0
    assert "No changes." in shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout
