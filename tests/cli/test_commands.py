"""The CLI contract: command groups, init, schema, plan, and bad input (exit 2, one line,
no traceback) for manifests that are broken in every way we could think of."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shipway.manifest import load_manifest, manifest_json_schema

BUILT = [
    "init",
    "provision",
    "schema",
    "plan",
    "deploy",
    "status",
    "history",
    "events",
    "rollback",
    "resume",
    "cancel",
    "approve",
    "agent",
    "worker",
    "releases",
    "validate",
    "scan",
    "test",
    "config",
    "secrets",
    "logs",
    "alerts",
    "metrics",
]
NOT_BUILT_YET = [
    "dashboard",
    "mcp",
    "backup",
    "restore",
]


def shipway(
    *args: str, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_help_lists_built_commands_only() -> None:
    done = shipway("--help")
    assert done.returncode == 0
    commands = {
        line.split()[0]
        for line in done.stdout.splitlines()
        if line.startswith("  ") and line.split()
    }
    for name in BUILT:
        assert name in commands, name
    for name in NOT_BUILT_YET:
        assert name not in commands, name


def test_version() -> None:
    done = shipway("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("shipway ")


def test_init_writes_a_manifest_that_plans(tmp_path: Path) -> None:
    done = shipway("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "shipway.yaml").read_text()
    assert text.count("#") > 5  # commented
    load_manifest(tmp_path / "shipway.yaml")
    again = shipway("init", cwd=tmp_path)
    assert again.returncode == 2
    assert "--force" in again.stderr
    planned = shipway("plan", "-e", "dev", "--output", "json", cwd=tmp_path)
    assert planned.returncode == 0, planned.stderr
    data = json.loads(planned.stdout)
    assert [s["stage"] for s in data["stages"]] == [
        "validate",
        "provision",
        "configure",
        "scan",
        "release",
        "test",
        "observe",
    ]
    assert data["stages"][2]["parallel"] and data["stages"][3]["parallel"]
    assert not (tmp_path / ".shipway" / "state.db").exists()  # plan changes nothing


def test_schema_is_the_models_schema() -> None:
    done = shipway("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema == json.loads(json.dumps(manifest_json_schema()))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_plan_shows_approval_and_skips(tmp_path: Path) -> None:
    (tmp_path / "shipway.yaml").write_text(
        "version: 1\nproject: p\nenvironments:\n  dev: {}\n  prod:\n    extends: dev\n"
        "    approval: required\n"
    )
    done = shipway("plan", "-e", "prod", "--output", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["extends"] == ["prod", "dev"] or data["extends"] == ["dev", "prod"]
    release = next(s for s in data["stages"] if s["stage"] == "release")
    assert release["approval_before"] is True
    assert all(s["action"] == "skip" for s in data["stages"])
    text = shipway("plan", "-e", "prod", cwd=tmp_path)
    assert "shipway approve" in text.stdout


NASTY = {
    "alias_bomb.yaml": "a: &a [x,x,x,x,x,x,x,x,x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(9)
    ),
    "tabs.yaml": "version: 1\nproject: p\nenvironments:\n\tdev: {}\n",
    "duplicate.yaml": "version: 1\nproject: p\nproject: q\nenvironments: {dev: {}}\n",
    "wrong_type.yaml": "version: 1\nproject: [1, 2]\nenvironments: {dev: {}}\n",
    "unknown_key.yaml": "version: 1\nproject: p\nenviroments: {dev: {}}\n",
    "deep.yaml": "version: 1\nproject: p\nx: " + "[" * 5000 + "]" * 5000 + "\n",
    "cycle.yaml": "version: 1\nproject: p\nenvironments:\n  dev: {extends: prod}\n"
    "  prod: {extends: dev}\n",
    "empty.yaml": "",
    "scalar.yaml": "just a string\n",
}


@pytest.mark.parametrize("name", sorted(NASTY))
def test_nasty_manifest_exits_2_with_one_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(NASTY[name])
    done = shipway("plan", "-e", "dev", "-f", str(path), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] or name in lines[0]


@pytest.mark.parametrize(
    "payload",
    [
        b"\x00\x01\x02\xff\xfe" * 1000,
        b"\xff\xfeversion: 1",
        b"version: 1\n" + b"x" * (10 * 1024 * 1024),
    ],
)
def test_binary_and_huge_files_exit_2(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "shipway.yaml"
    path.write_bytes(payload)
    done = shipway("deploy", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert not (tmp_path / ".shipway").exists()  # nothing was started or stored


def test_errors_name_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "shipway.yaml").write_text(
        "version: 1\nproject: p\nenvironments:\n  dev:\n    targett: local\n"
    )
    done = shipway("plan", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2
    assert "shipway.yaml:5:5" in done.stderr
    assert "did you mean 'target'" in done.stderr


def test_missing_manifest_exits_2(tmp_path: Path) -> None:
    done = shipway("deploy", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2
    assert "shipway.yaml" in done.stderr
