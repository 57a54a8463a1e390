"""Bad manifests (cycles, unknown references, bad attributes) fail with file:line:col and
exit 2; a provider failure in the middle of an apply records what completed and a second
apply finishes the job; a saved plan is refused once the world or the state moved."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .project import open_store, shipway, write_manifest

CYCLE = """\
  a:
    type: local.directory
    path: a
  b:
    type: local.directory
    path: ${resources.c.path}/b
  c:
    type: local.directory
    path: c
    mode: ${resources.b.mode}
"""


@pytest.mark.parametrize(
    ("resources", "where", "reason"),
    [
        (CYCLE, "11:11", "resources depend on each other in a cycle: b -> c -> b"),
        (
            "  a:\n    type: local.directory\n    path: ${resources.nope.path}/x\n",
            "8:11",
            "unknown resource 'nope' in ${resources.nope.path}",
        ),
        (
            '  a:\n    type: local.directory\n    path: a\n    mode: "999"\n',
            "9:11",
            "resources.a.mode: '999' does not have the expected form",
        ),
        (
            "  a:\n    type: local.directory\n    path: a\n    colour: red\n",
            "9:5",
            "unknown key 'colour'",
        ),
        (
            "  a:\n    type: local.nothing\n    path: a\n",
            "7:11",
            "unknown resource type 'local.nothing'",
        ),
    ],
    ids=["cycle", "unknown-reference", "bad-attribute", "unknown-attribute", "unknown-type"],
)
def test_bad_resources_fail_at_their_position_with_exit_2(
    tmp_path: Path, resources: str, where: str, reason: str
) -> None:
    manifest = write_manifest(tmp_path, resources)
    done = shipway("provision", "plan", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"error: {manifest.name}:{where}: "), done.stderr
    assert reason in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


MANY = """\
  one:
    type: local.directory
    path: out/one
  two:
    type: local.sqlite
    path: out/two.db
    schema: "CREATE TABLE t (x INTEGER);"
  broken:
    type: local.sqlite
    path: out/broken.db
    depends_on: [one]
    schema: "CREATE TABLEX nope;"
  after:
    type: local.directory
    path: ${resources.broken.path}.d
"""


def test_a_failure_mid_apply_is_recorded_exactly_and_a_second_apply_finishes(
    tmp_path: Path,
) -> None:
    write_manifest(tmp_path, MANY)
    failed = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert 'near "' in failed.stderr and ": syntax error" in failed.stderr  # sqlite's own
    assert "broken:" in failed.stderr and "not started: after" in failed.stderr
    assert "Traceback" not in failed.stderr
    with open_store(tmp_path) as store:
        recorded = {r.name for r in store.resources.list("demo", "dev")}
    assert recorded == {"one", "two"}
    assert not (tmp_path / "out" / "broken.db").exists()  # no half-made database left
    planned = shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout
    assert "Plan: 2 to create, 0 to update, 0 to replace, 0 to destroy, 2 unchanged." in planned
    write_manifest(tmp_path, MANY.replace("TABLEX nope;", "TABLE nope (x INTEGER);"))
    done = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Apply complete! 2 created" in done.stdout
    assert (tmp_path / "out" / "broken.db.d").is_dir()
    assert "No changes." in shipway("provision", "plan", "-e", "dev", cwd=tmp_path).stdout


SAVED = '  box:\n    type: local.directory\n    path: box\n    mode: "0750"\n'


def test_a_saved_plan_is_applied_exactly_or_refused_when_things_moved(tmp_path: Path) -> None:
    write_manifest(tmp_path, SAVED)
    plan_file = tmp_path / "plan.json"
    made = shipway("provision", "plan", "-e", "dev", "--out", str(plan_file), cwd=tmp_path)
    assert made.returncode == 0 and "Saved the plan" in made.stdout
    assert json.loads(plan_file.read_text())["changes"][0]["action"] == "create"
    (tmp_path / "box").mkdir()  # the world moved: someone made it by hand
    stale = shipway("provision", "apply", "-e", "dev", "--plan-file", str(plan_file), cwd=tmp_path)
    assert stale.returncode == 1
    assert "the world changed since the plan was made (box)" in stale.stderr
    (tmp_path / "box").rmdir()
    applied = shipway(
        "provision", "apply", "-e", "dev", "--plan-file", str(plan_file), cwd=tmp_path
    )
    assert applied.returncode == 0, applied.stderr
    assert stat_mode(tmp_path / "box") == 0o750
    # A plan made before another apply changed the state is refused, even if unchanged.
    write_manifest(tmp_path, SAVED.replace("0750", "0700"))
    shipway("provision", "plan", "-e", "dev", "--out", str(plan_file), cwd=tmp_path)
    write_manifest(tmp_path, SAVED.replace("0750", "0711"))
    assert shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path).returncode == 0
    stale = shipway("provision", "apply", "-e", "dev", "--plan-file", str(plan_file), cwd=tmp_path)
    assert stale.returncode == 1
    assert "the recorded state changed since the plan was made (resources: box)" in stale.stderr
    assert stat_mode(tmp_path / "box") == 0o711
    # A chmod by hand after the plan: refused too.
    shipway("provision", "plan", "-e", "dev", "--out", str(plan_file), cwd=tmp_path)
    os.chmod(tmp_path / "box", 0o777)
    stale = shipway("provision", "apply", "-e", "dev", "--plan-file", str(plan_file), cwd=tmp_path)
    assert stale.returncode == 1 and "the world changed" in stale.stderr


def stat_mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_a_reference_to_an_output_an_applied_resource_lacks_fails_at_plan(tmp_path: Path) -> None:
    base = "  a:\n    type: local.directory\n    path: a\n"
    write_manifest(tmp_path, base)
    assert shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path).returncode == 0
    manifest = write_manifest(
        tmp_path, base + "  b:\n    type: local.directory\n    path: ${resources.a.url}/b\n"
    )
    done = shipway("provision", "plan", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {manifest.name}:11:11: resources.b.path: ")
    assert "resource 'a' has no output 'url' (it has: mode, owner, path)" in done.stderr
