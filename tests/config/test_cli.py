"""`shipway config` and `shipway secrets` through the real command: render, --explain, get,
set, diff, history, rollback; bad input is one line with file:line:col and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipway.config.secrets.keys import new_master_key

from .conftest import shipway, write_project

CONFIG = """\
config:
  layers:
    - config/base.yaml
    - config/${environment}.toml
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(
        tmp_path,
        CONFIG,
        {
            "config/base.yaml": "log_level: info\nserver:\n  port: 8080\n"
            "db:\n  url: postgres://app:${secret:db_password}@db/notes\n",
            "config/dev.toml": "log_level = 'debug'\n",
            "config/prod.toml": "[server]\nport = 9000\n",
        },
    )
    return tmp_path


def _json(done: object) -> object:
    assert done.returncode == 0, done.stderr  # type: ignore[attr-defined]
    return json.loads(done.stdout)  # type: ignore[attr-defined]


def test_render_and_explain(project: Path, cli: Any) -> None:
    done = cli("config", "render", "-e", "dev", cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "log_level: debug\nserver:\n  port: 8080\n"
        "db:\n  url: postgres://app:${secret:db_password}@db/notes\n"
    )
    data = _json(cli("config", "render", "-e", "prod", "--set", "a.b=1", "-o", "json", cwd=project))
    assert data == {
        "project": "notes",
        "environment": "prod",
        "values": {
            "log_level": "info",
            "server": {"port": 9000},
            "db": {"url": "postgres://app:${secret:db_password}@db/notes"},
            "a": {"b": 1},
        },
        "secrets": ["db_password"],
        "layers": ["config/base.yaml", "config/prod.toml", "--set"],
    }
    explained = cli("config", "render", "-e", "prod", "--explain", "server.port", cwd=project)
    assert explained.stdout.splitlines() == [
        "server.port = 9000",
        "  from config/prod.toml:2:8",
        "  overrides config/base.yaml:3:9 (8080)",
    ]
    secret = cli("config", "render", "-e", "dev", "--explain", "db.url", cwd=project)
    assert "  secret reference: db_password (value never shown)" in secret.stdout


@pytest.mark.parametrize(
    ("files", "args", "expected"),
    [
        ({"config/base.yaml": "a: [1\n"}, (), "error: config/base.yaml:2:1: invalid YAML"),
        ({"config/dev.toml": "x = \n"}, (), "error: config/dev.toml:1:5: invalid TOML"),
        ({"config/base.yaml": "a: ${config.b}\n"}, (), "error: config/base.yaml:1:4: a: missing"),
        ({}, ("--set", "nokey"), "error: --set: expected key=value"),
        ({}, ("--explain", "nope"), "error: --explain: no key 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    project: Path, files: dict[str, str], args: tuple[str, ...], expected: str, cli: Any
) -> None:
    for name, text in files.items():
        (project / name).write_text(text)
    done = cli("config", "render", "-e", "dev", *args, cwd=project)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(expected), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_set_get_diff_history_rollback(project: Path, cli: Any) -> None:
    empty = cli("config", "get", "-e", "dev", "log_level", cwd=project)
    assert empty.returncode == 2 and "has no configuration version yet" in empty.stderr
    first = _json(cli("config", "set", "-e", "dev", "log_level=warning", "-o", "json", cwd=project))
    assert first["overrides"] == {"log_level": "warning"}  # type: ignore[index]
    get = cli("config", "get", "-e", "dev", "log_level", cwd=project)
    assert get.stdout == "warning\n"
    second = _json(cli("config", "set", "-e", "dev", "server.port=9999", "-o", "json", cwd=project))
    assert second["overrides"] == {"log_level": "warning", "server.port": 9999}  # type: ignore[index]
    # The layers now give what the overrides say; a diff against them is empty...
    assert "no differences" in cli("config", "diff", "-e", "dev", cwd=project).stdout
    # ...and between the two versions it names the changed key.
    v1, v2 = first["version"], second["version"]  # type: ignore[index]
    diffed = _json(
        cli("config", "diff", "-e", "dev", v1[7:19], v2[7:19], "-o", "json", cwd=project)
    )
    assert diffed["changes"] == [  # type: ignore[index]
        {"key": "server.port", "change": "changed", "old": 8080, "new": 9999}
    ]
    back = _json(cli("config", "rollback", "-e", "dev", "-o", "json", cwd=project))
    assert back["version"] == v1  # type: ignore[index]
    assert cli("config", "get", "-e", "dev", "server.port", cwd=project).stdout == "8080\n"
    history = _json(cli("config", "history", "-e", "dev", "-o", "json", cwd=project))
    assert [(h["action"], h["version"]) for h in history] == [  # type: ignore[index, union-attr]
        ("rollback", v1),
        ("set", v2),
        ("set", v1),
    ]
    # The rolled-back overrides came back with the version.
    assert history[0]["overrides"] == {"log_level": "warning"}  # type: ignore[index]
    removed = _json(
        cli("config", "set", "-e", "dev", "--remove", "log_level", "-o", "json", cwd=project)
    )
    assert removed["overrides"] == {}  # type: ignore[index]
    refused = cli("config", "set", "-e", "dev", "api_token=abcdef", cwd=project)
    assert refused.returncode == 2 and "plain-text secret" in refused.stderr
    assert "abcdef" not in refused.stderr


def test_secrets_commands(project: Path, cli: Any) -> None:
    env = {"SHIPWAY_MASTER_KEY": new_master_key()}
    done = cli(
        "secrets", "set", "-e", "dev", "db_password", input="s3cr3t-value\n", env=env, cwd=project
    )
    assert done.returncode == 0, done.stderr
    masked = cli("secrets", "get", "-e", "dev", "db_password", env=env, cwd=project)
    assert masked.stdout == "db_password: ********** (local backend, dev)\n"
    revealed = cli("secrets", "get", "-e", "dev", "db_password", "--reveal", env=env, cwd=project)
    assert revealed.stdout == "s3cr3t-value\n"
    listed = _json(cli("secrets", "list", "-e", "dev", "-o", "json", env=env, cwd=project))
    assert listed == {
        "backend": "local",
        "secrets": [{"name": "db_password", "used": True}],
        "missing": [],
    }
    rotated = cli("secrets", "rotate", "-e", "dev", "db_password", env=env, cwd=project)
    assert rotated.returncode == 0, rotated.stderr
    changed = cli("secrets", "get", "-e", "dev", "db_password", "--reveal", env=env, cwd=project)
    assert changed.stdout.strip() not in {"", "s3cr3t-value"}
    assert (
        cli("secrets", "delete", "-e", "dev", "db_password", env=env, cwd=project).returncode == 0
    )
    gone = cli("secrets", "get", "-e", "dev", "db_password", env=env, cwd=project)
    assert gone.returncode == 2 and gone.stderr.startswith("error: secret 'db_password' not found")
    nokey = cli("secrets", "set", "-e", "dev", "x", input="v", cwd=project)
    assert nokey.returncode == 1 and "no master key" in nokey.stderr
    empty = cli("secrets", "set", "-e", "dev", "x", input="", env=env, cwd=project)
    assert empty.returncode == 2 and "empty secret value" in empty.stderr


def test_the_installed_command_keeps_the_contract(project: Path) -> None:
    (project / "config" / "dev.toml").write_text("[server]\nport = 'x'\nport = 1\n")
    done = shipway("config", "render", "-e", "dev", cwd=project)
    assert done.returncode == 2
    assert done.stderr.startswith("error: config/dev.toml:3:9: invalid TOML: Cannot overwrite")
    assert len(done.stderr.splitlines()) == 1
