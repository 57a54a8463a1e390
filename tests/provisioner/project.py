"""Projects with local resources on disk, the `shipway` command run as a child process,
and a provisioner opened in this process on the project's real state store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shipway.manifest import load_manifest, resolve_environment
from shipway.provisioner.engine import Provisioner
from shipway.store import Store
from shipway.workspace import Workspace

HEAD = """\
version: 1
project: demo
environments:
  dev: {}
"""


def write_manifest(root: Path, resources: str, tail: str = "") -> Path:
    """`shipway.yaml` under `root` with `resources` (the YAML under `resources:`)."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = root / "shipway.yaml"
    manifest.write_text(HEAD + "resources:\n" + resources + tail, encoding="utf-8")
    return manifest


def shipway(
    *args: str, cwd: Path, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    environ.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def open_store(root: Path) -> Store:
    return Store.open(Workspace.for_manifest(root / "shipway.yaml").state_url)


def provisioner(root: Path, store: Store, parallelism: int = 16) -> Provisioner:
    loaded = load_manifest(root / "shipway.yaml")
    return Provisioner.open(
        loaded,
        resolve_environment(loaded, "dev"),
        store,
        root / ".shipway",
        parallelism=parallelism,
    )
