"""Real things for the cloud provider tests: wire-protocol emulators (moto_server for AWS,
Azurite for Azure Blob, gcp-storage-emulator for GCS) started on free ports of 127.0.0.1
for the test session, a `ResourceContext` over a real local vault, and the engine's
comparison of desired and observed attributes.

Test modules import the fixtures they use from here (`from tests.provisioner.emulators
import moto_url`): the folder's conftest.py belongs to the engine's tests.

Azurite comes from npm (`npm install --prefix /opt/shipway-node azurite`, as `.ci/run`
does); the fixture finds it through `SHIPWAY_AZURITE`, `azurite-blob` on PATH, or that
prefix.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway.config.secrets.keys import new_master_key
from shipway.config.secrets.registry import open_backend
from shipway.provisioner.context import ResourceContext
from shipway.provisioner.providers.interface import Observed, Provider, ProviderSettings
from tests.conftest import need_service

#: The fixed development account every Azurite has (published in Azurite's README).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_PREFIX = Path("/opt/shipway-node")
#: How long an emulator may take to answer its first request on a loaded machine.
START_DEADLINE = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `url` until the server answers anything (an HTTP error is an answer)."""
    deadline = time.monotonic() + START_DEADLINE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered: {log.read_text()[-2000:]}")


def _serve(command: list[str], url: str, probe: str, log: Path, cwd: Path) -> Iterator[str]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, cwd=cwd)
    try:
        wait_http(probe, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _installed(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    here = Path(sys.executable).with_name(name)
    return str(here) if here.exists() else None


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server on 127.0.0.1: S3, EC2 and Secrets Manager over the AWS wire protocol."""
    binary = _installed("moto_server")
    if binary is None:
        need_service("moto_server is not installed (pip install 'moto[server]')")
    port = free_port()
    folder = tmp_path_factory.mktemp("moto")
    url = f"http://127.0.0.1:{port}"
    command = [str(binary), "-H", "127.0.0.1", "-p", str(port)]
    yield from _serve(command, url, url + "/moto-api/", folder / "moto.log", folder)


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Dummy credentials and a region in this process's environment (the SDK chain)."""
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def azurite_binary() -> str | None:
    configured = os.environ.get("SHIPWAY_AZURITE")
    if configured:
        return configured
    return shutil.which("azurite-blob") or next(
        (str(p) for p in [AZURITE_PREFIX / "node_modules/.bin/azurite-blob"] if p.exists()), None
    )


@pytest.fixture(scope="session")
def azurite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite's blob service on 127.0.0.1, in memory; yields the account URL."""
    binary = azurite_binary()
    if binary is None:
        need_service(
            "Azurite is not installed (npm install --prefix /opt/shipway-node azurite, "
            "or set SHIPWAY_AZURITE to azurite-blob)"
        )
    port = free_port()
    folder = tmp_path_factory.mktemp("azurite")
    command = [
        str(binary),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ]
    url = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    yield from _serve(command, url, url + "?comp=list", folder / "azurite.log", folder)


def azurite_connection_string(account_url: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={AZURITE_KEY};BlobEndpoint={account_url};"
    )


@pytest.fixture(scope="session")
def gcs_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gcp-storage-emulator on 127.0.0.1, in memory (the GCS JSON API)."""
    binary = _installed("gcp-storage-emulator")
    if binary is None:
        need_service("gcp-storage-emulator is not installed (pip install gcp-storage-emulator)")
    port = free_port()
    folder = tmp_path_factory.mktemp("gcs")
    command = [str(binary), "start", "--host", "127.0.0.1", "--port", str(port), "--in-memory"]
    url = f"http://127.0.0.1:{port}"
    yield from _serve(command, url, url + "/storage/v1/b", folder / "gcs.log", folder)


def unique(prefix: str) -> str:
    """A name no other test uses on a shared emulator."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def context(
    tmp_path: Path,
    name: str,
    *,
    project: str = "notes",
    environment: str = "dev",
    secrets: dict[str, str] | None = None,
) -> ResourceContext:
    """The engine's context for resource `name`, over a real local vault holding `secrets`."""
    from pydantic import SecretStr

    backend = open_backend(
        "local",
        project=project,
        environment=environment,
        base_dir=tmp_path,
        home=tmp_path / ".shipway",
        env={"SHIPWAY_MASTER_KEY": _master_key(tmp_path)},
    )
    for key, value in (secrets or {}).items():
        backend.set(key, SecretStr(value))
    return ResourceContext(
        project=project,
        environment=environment,
        name=name,
        base_dir=tmp_path,
        backend=backend,
        timeout=20.0,
    )


def _master_key(tmp_path: Path) -> str:
    """One master key per test folder, so several contexts share the vault."""
    path = tmp_path / ".master-key"
    if not path.exists():
        tmp_path.mkdir(parents=True, exist_ok=True)
        path.write_text(new_master_key())
    return path.read_text()


def changes(
    provider: Provider, settings: ProviderSettings, observed: Observed | None
) -> dict[str, Any]:
    """What a plan would change, as the engine compares: attribute -> (now, wanted)."""
    wanted = provider.desired(settings)
    now = observed.attributes if observed is not None else {}
    return {key: (now.get(key), value) for key, value in wanted.items() if now.get(key) != value}


def project(root: Path, resources: str, *, secrets: dict[str, str] | None = None) -> dict[str, str]:
    """`shipway.yaml` of project `demo` (environment `dev`, the local vault) under `root`
    with `resources` (the YAML under `resources:`), and the vault holding `secrets`.
    Returns the environment the `shipway` command needs (the vault's master key)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "shipway.yaml").write_text(
        "version: 1\nproject: demo\nenvironments:\n  dev: {}\nresources:\n" + resources,
        encoding="utf-8",
    )
    key = new_master_key()
    if secrets:
        from pydantic import SecretStr

        backend = open_backend(
            "local",
            project="demo",
            environment="dev",
            base_dir=root,
            home=root / ".shipway",
            env={"SHIPWAY_MASTER_KEY": key},
        )
        for name, value in secrets.items():
            backend.set(name, SecretStr(value))
    return {"SHIPWAY_MASTER_KEY": key}


def shipway(
    *args: str, cwd: Path, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """The real `shipway` command in a child process, with `env` added to this process's
    environment (the AWS settings of `aws_env` are in it already)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    environ.update({"COLUMNS": "200", **env})
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
