"""The services kind against real endpoints: TCP, the PostgreSQL and Redis on this
machine (or SHIPWAY_TEST_PG_URL / SHIPWAY_TEST_REDIS_URL)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from pydantic import SecretStr

from shipway.tester.references import References
from tests.conftest import need_service
from tests.tester.apps import TestApp, free_port
from tests.tester.conftest import run


def _reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("SHIPWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not _reachable("127.0.0.1", 6379) and "SHIPWAY_TEST_REDIS_URL" not in os.environ:
        need_service("Redis is not listening on 127.0.0.1:6379 (set SHIPWAY_TEST_REDIS_URL)")
    return url


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("SHIPWAY_TEST_PG_URL")
    if not url:
        need_service("SHIPWAY_TEST_PG_URL is not set (postgresql://postgres@127.0.0.1:5432/test)")
    return str(url)


def test_tcp_endpoints(test_app: TestApp, tmp_path: Path) -> None:
    report = run(
        f"""
tests:
  services:
    - {{name: web, tcp: "127.0.0.1:{test_app.port}"}}
    - {{name: nothing, tcp: "127.0.0.1:{free_port()}", timeout: 2s}}
""",
        None,
        tmp_path,
    )
    found = {case.name: case for case in report.cases}
    assert found["web"].status == "passed"
    assert found["nothing"].status == "failed"
    assert "ConnectionRefusedError" in found["nothing"].message


def test_postgres_and_redis_answer(postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    report = run(
        f"""
tests:
  services:
    - {{name: database, postgres: "{postgres_url}"}}
    - {{name: cache, redis: "{redis_url}"}}
""",
        None,
        tmp_path,
    )
    found = {case.name: case for case in report.cases}
    assert found["database"].status == "passed", found["database"].message
    assert found["database"].message.startswith("SELECT 1 answered (server ")
    assert found["cache"].status == "passed", found["cache"].message
    assert found["cache"].message == "PING answered PONG"


def test_a_refused_login_is_reported_without_the_password(
    postgres_url: str, tmp_path: Path
) -> None:
    base = postgres_url.split("://", 1)[1].split("@")[-1]
    wrong = f"postgresql://no_such_role_x:canary-pw-7731@{base}"
    report = run(
        f'tests:\n  services:\n    - {{name: db, postgres: "{wrong}"}}\n',
        None,
        tmp_path,
    )
    (case,) = report.cases
    assert case.status == "failed"
    assert "no_such_role_x" in case.message
    assert "canary-pw-7731" not in case.message + case.details


class _Vault:
    """A SecretSource holding one generated credential, as the provisioner keeps it."""

    def get(self, name: str) -> SecretStr:
        assert name == "resources/db/password"
        return SecretStr("s3cr3t-generated")


def test_a_resource_output_with_a_credential_reference_is_filled_in_and_redacted() -> None:
    references = References(
        secrets=_Vault(),
        resources={"db": {"url": "postgresql://app:${secret:resources/db/password}@h:5432/d"}},
    )
    assert references.text("${resources.db.url}") == "postgresql://app:s3cr3t-generated@h:5432/d"
    assert references.redactor.redact("password s3cr3t-generated") == "password ***"
