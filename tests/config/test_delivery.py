"""What the runtime gets: `${config.KEY}` values for its `render` (secrets kept as
references), and a process environment with the references replaced at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from shipway.config.delivery import (
    release_config_version,
    resolve_for_release,
    reveal,
    reveal_environment,
    reveal_process,
    version_values,
)
from shipway.config.errors import SecretNotFoundError
from shipway.config.secrets import open_backend
from shipway.config.stage import ConfigureStage
from shipway.runtime.interpolation import render

from .conftest import resolve, stage_context, write_project

LAYER = """\
port: 8080
debug: true
hosts: [a, b]
db:
  url: postgres://app:${secret:db_password}@db/x
literal: cost $${secret:not_one}
"""


def test_version_values_for_the_runtime(tmp_path: Path) -> None:
    manifest = write_project(tmp_path, "config:\n  layers: [c.yaml]\n", {"c.yaml": LAYER})
    values = version_values(resolve(manifest).version())
    assert values["config.port"] == "8080"
    assert values["config.debug"] == "true"
    assert values["config.hosts"] == '["a","b"]'
    assert values["config.hosts.1"] == "b"
    assert values["config.db"] == '{"url":"postgres://app:${secret:db_password}@db/x"}'
    assert values["config.db.url"] == "postgres://app:${secret:db_password}@db/x"
    # A literal that reads like a reference stays escaped until the process starts.
    assert values["config.literal"] == "cost $${secret:not_one}"
    text = render("DB=${config.db.url} ${config.literal}", values, "env")
    secrets = {"db_password": SecretStr("pw")}
    assert reveal(text, secrets) == "DB=postgres://app:pw@db/x cost ${secret:not_one}"


def test_resolve_for_release_after_the_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_PASSWORD", "from-env")
    manifest = write_project(
        tmp_path,
        "config:\n  layers: [c.yaml]\n  secrets: {backend: env}\n"
        "services:\n  api:\n    run: app --token ${secret:api_token}\n"
        "    env:\n      DB: ${config.db.url}\n",
        {"c.yaml": LAYER},
    )
    outcome = ConfigureStage().run(stage_context(manifest))
    ctx = stage_context(manifest, states={"configure": outcome.outputs})
    assert release_config_version(ctx) == outcome.outputs["version"]
    values = resolve_for_release(ctx)
    assert values["secret:api_token"] == "${secret:api_token}"
    assert values["config.port"] == "8080"
    assert release_config_version(stage_context(manifest)) is None
    assert resolve_for_release(stage_context(manifest)) == {
        "secret:api_token": "${secret:api_token}"
    }
    env = {"DB": render("${config.db.url}", values, "env"), "PLAIN": "x"}
    backend = open_backend(
        "env",
        project="notes",
        environment="dev",
        base_dir=tmp_path,
        home=tmp_path,
        env={"DB_PASSWORD": "from-env"},
    )
    assert reveal_environment(env, backend) == {
        "DB": "postgres://app:from-env@db/x",
        "PLAIN": "x",
    }
    assert reveal_environment({"A": "no secrets"}, {}) == {"A": "no secrets"}
    with pytest.raises(SecretNotFoundError):
        reveal_environment({"A": "${secret:absent}"}, backend)
    command, _ = reveal_process(["app", "--db=${secret:db_password}"], {}, backend)
    assert command == ["app", "--db=from-env"]
