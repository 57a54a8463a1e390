"""The tester's `services` kind against resources the provisioner made (issue 8): the
database and cache named by `${resources.NAME.url}`, whose passwords are generated
credentials kept as secret references, accept a connection and a trivial query through
`shipway test --kind services`; a password that no longer works fails the check; the
credentials appear in no output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg import sql

from shipway.config.secrets.keys import new_master_key
from tests.provisioner.databases import (
    admin_pg_url,
    admin_redis_url,
    everything_written,
    run_shipway,
    unique,
    vault,
)

MANIFEST = """\
version: 1
project: {project}
environments:
  dev: {{}}
resources:
  db:
    type: postgres.database
    server: ${{secret:pg_admin_url}}
    owner_role: {project}_app
  cache:
    type: redis.acl_user
    server: ${{secret:redis_admin_url}}
    key_prefix: "{project}:"
tests:
  services:
    - {{name: database, postgres: "${{resources.db.url}}"}}
    - {{name: cache, redis: "${{resources.cache.url}}"}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    name, key = unique("sc"), new_master_key()
    (tmp_path / "shipway.yaml").write_text(MANIFEST.format(project=name), encoding="utf-8")
    for secret, value in (("pg_admin_url", admin_pg_url()), ("redis_admin_url", admin_redis_url())):
        done = run_shipway(
            "secrets", "set", "-e", "dev", secret, input=value, cwd=tmp_path, key=key
        )
        assert done.returncode == 0, done.stderr
    yield tmp_path, name, key
    run_shipway("provision", "destroy", "-e", "dev", "--yes", cwd=tmp_path, key=key)


def _cases(stdout: str) -> dict[str, dict[str, str]]:
    [kind] = json.loads(stdout)["kinds"]
    return {case["name"]: case for case in kind["cases"]}


def test_provisioned_database_and_cache_answer_the_service_checks(
    project: tuple[Path, str, str],
) -> None:
    root, name, key = project
    outputs = []
    applied = run_shipway("provision", "apply", "-e", "dev", "--yes", cwd=root, key=key)
    outputs.append(applied.stdout + applied.stderr)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    checked = run_shipway(
        "test", "-e", "dev", "--kind", "services", "--output", "json", cwd=root, key=key
    )
    outputs.append(checked.stdout + checked.stderr)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    cases = _cases(checked.stdout)
    assert cases["database"]["status"] == "passed", cases["database"]
    assert cases["cache"]["status"] == "passed", cases["cache"]

    # The cache user's password changes behind shipway's back: the check fails, and says
    # why without showing either password.
    admin = redis.Redis.from_url(admin_redis_url(), socket_timeout=5)
    admin.execute_command("ACL", "SETUSER", f"{name}-dev-cache", "resetpass", ">other-password")
    admin.close()
    broken = run_shipway(
        "test", "-e", "dev", "--kind", "services", "--output", "json", cwd=root, key=key
    )
    outputs.append(broken.stdout + broken.stderr)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    cases = _cases(broken.stdout)
    assert cases["cache"]["status"] == "failed"
    assert "Authentication" in cases["cache"]["message"] or "WRONGPASS" in cases["cache"]["message"]
    assert cases["database"]["status"] == "passed"

    secrets = vault(root, name, key)
    passwords = [
        secrets.get(f"resources/{resource}/password").get_secret_value()
        for resource in ("db", "cache")
    ]
    written = everything_written(root)
    for password in passwords:
        assert all(password not in text for text in outputs)
        assert password.encode() not in written
    # The database password shipway generated is the one that works.
    with psycopg.connect(admin_pg_url(), autocommit=True, connect_timeout=5) as conn:
        found = conn.execute(
            sql.SQL("SELECT 1 FROM pg_roles WHERE rolname = {}").format(sql.Literal(f"{name}_app"))
        ).fetchone()
    assert found == (1,)
