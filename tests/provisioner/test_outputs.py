"""Resource outputs as `${resources.NAME.ATTR}`: in `shipway config render` from the
recorded state, and credentials (secret references) kept as secrets by the configuration."""

from __future__ import annotations

import json
from pathlib import Path

from shipway.config.delivery import version_values
from shipway.config.manager import ConfigurationManager
from shipway.manifest import load_manifest, resolve_environment
from shipway.provisioner.outputs import resource_values

from .project import shipway, write_manifest

CONFIG = "config:\n  layers: [config/base.yaml]\n"


def test_config_render_resolves_resource_outputs_from_recorded_state(tmp_path: Path) -> None:
    write_manifest(tmp_path, "  db:\n    type: local.sqlite\n    path: app.db\n", CONFIG)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "base.yaml").write_text("database: ${resources.db.url}\n")
    before = shipway("config", "render", "-e", "dev", "-o", "json", cwd=tmp_path)
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["values"]["database"] == "${resources.db.url}"
    assert shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path).returncode == 0
    after = shipway("config", "render", "-e", "dev", "-o", "json", cwd=tmp_path)
    assert (
        json.loads(after.stdout)["values"]["database"] == f"sqlite:///{tmp_path.resolve()}/app.db"
    )


def test_a_credential_output_stays_a_secret_reference_in_the_configuration(
    tmp_path: Path,
) -> None:
    write_manifest(tmp_path, "  db:\n    type: local.sqlite\n    path: app.db\n", CONFIG)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "base.yaml").write_text("db_password: ${resources.db.password}\n")
    loaded = load_manifest(tmp_path / "shipway.yaml")
    manager = ConfigurationManager(
        loaded, resolve_environment(loaded, "dev"), tmp_path / ".shipway"
    )
    outputs = {"db": {"password": "${secret:resources/db/password}", "port": 5432}}
    version = manager.resolve(resources=outputs).version()
    assert version.secret_names == ["resources/db/password"]
    assert version_values(version)["config.db_password"] == "${secret:resources/db/password}"
    assert resource_values(outputs) == {
        "resources.db.password": "${secret:resources/db/password}",
        "resources.db.port": "5432",
    }
