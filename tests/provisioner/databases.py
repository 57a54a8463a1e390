"""Real things for the PostgreSQL and Redis provider tests: the admin URLs of the test
servers, a `ResourceContext` over a real local vault, unique names, SCRAM checks and a
canary search over everything a provider returned."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shipway.config.secrets.registry import open_backend
from shipway.provisioner.context import ResourceContext
from tests.conftest import need_service

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379"


def admin_pg_url() -> str:
    """The admin URL of the test PostgreSQL; skips (or fails in CI) when it is down."""
    import psycopg

    url = os.environ.get("SHIPWAY_TEST_PG_URL") or PG_DEFAULT
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        need_service(f"PostgreSQL at {url} is unreachable: {exc}")
    return url


def admin_redis_url() -> str:
    import redis

    url = os.environ.get("SHIPWAY_TEST_REDIS_URL") or REDIS_DEFAULT
    try:
        redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        need_service(f"Redis at {url} is unreachable: {exc}")
    return url


def unique(prefix: str = "t") -> str:
    """A short name no other test (or test worker) uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass
class Contexts:
    """`ResourceContext`s of one project/environment over one local vault."""

    root: Path
    project: str
    environment: str

    def __call__(self, name: str, timeout: float = 20.0) -> ResourceContext:
        backend = open_backend(
            "local",
            project=self.project,
            environment=self.environment,
            base_dir=self.root,
            home=self.root / ".shipway",
        )
        return ResourceContext(
            project=self.project,
            environment=self.environment,
            name=name,
            base_dir=self.root,
            backend=backend,
            timeout=timeout,
        )


def contexts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Contexts:
    from shipway.config.secrets.keys import new_master_key

    monkeypatch.setenv("SHIPWAY_MASTER_KEY", new_master_key())
    return Contexts(tmp_path, unique("p"), "dev")


def scram_matches(verifier: str, password: str) -> bool:
    """Whether PostgreSQL's stored `SCRAM-SHA-256$iter:salt$StoredKey:ServerKey` was made
    from `password` (RFC 5802 / RFC 7677, recomputed here)."""
    method, _, rest = verifier.partition("$")
    if method != "SCRAM-SHA-256":
        return False
    params, _, keys = rest.partition("$")
    iterations, _, salt = params.partition(":")
    stored_key, _, server_key = keys.partition(":")
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    return hmac.compare_digest(
        base64.b64encode(hashlib.sha256(client_key).digest()).decode(), stored_key
    ) and hmac.compare_digest(base64.b64encode(server).decode(), server_key)


def assert_no_secret(secret: str, *things: Any) -> None:
    """`secret` appears in neither the repr nor the str of any of `things`."""
    assert len(secret) >= 16
    for thing in things:
        assert secret not in repr(thing), f"secret leaked in {type(thing).__name__}"
        assert secret not in str(thing), f"secret leaked in {type(thing).__name__}"


def run_shipway(
    *args: str, cwd: Path, key: str, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real `shipway` command in a child process, with only `SHIPWAY_MASTER_KEY` of
    the SHIPWAY_ variables (so the test servers' URLs reach it only through the vault)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    environ.update({"COLUMNS": "200", "SHIPWAY_MASTER_KEY": key})
    return subprocess.run(
        [sys.executable, "-m", "shipway", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environ,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        timeout=timeout,
    )


def vault(root: Path, project: str, key: str) -> Any:
    """The local vault of environment `dev` of the project in `root`, opened here."""
    return open_backend(
        "local",
        project=project,
        environment="dev",
        base_dir=root,
        home=root / ".shipway",
        env={"SHIPWAY_MASTER_KEY": key},
    )


def everything_written(root: Path) -> bytes:
    """Every byte under `root/.shipway` except the encrypted vault: the state store, logs."""
    data = b""
    for path in sorted((root / ".shipway").rglob("*")):
        if path.is_file() and "secrets" not in path.relative_to(root).parts:
            data += path.read_bytes()
    return data
