"""`redis.acl_user` through the real `shipway provision` command: apply, an empty second
plan, drift after an ACL rule changed by hand, rotate, destroy; the generated password
appears in no output and nowhere in the state store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shipway.config.secrets.keys import new_master_key
from tests.provisioner.databases import (
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
  cache:
    type: redis.acl_user
    server: ${{secret:redis_admin_url}}
    key_prefix: "{project}:"
"""


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str, str]]:
    admin = admin_redis_url()
    name, key = unique("p"), new_master_key()
    (tmp_path / "shipway.yaml").write_text(MANIFEST.format(project=name), encoding="utf-8")
    done = run_shipway(
        "secrets", "set", "-e", "dev", "redis_admin_url", input=admin, cwd=tmp_path, key=key
    )
    assert done.returncode == 0, done.stderr
    yield tmp_path, name, key
    client = redis.Redis.from_url(admin, socket_timeout=5, decode_responses=True)
    for user in client.acl_users():
        if user.startswith(name):
            client.acl_deluser(user)
    for found in client.scan_iter(match=f"{name}*"):
        client.delete(found)
    client.close()


def test_apply_plan_drift_rotate_destroy(project: tuple[Path, str, str]) -> None:
    root, name, key = project
    admin = redis.Redis.from_url(admin_redis_url(), socket_timeout=5, decode_responses=True)
    username = f"{name}-dev-cache"
    outputs: list[str] = []

    def shipway(*args: str) -> tuple[int, str]:
        done = run_shipway(*args, cwd=root, key=key)
        outputs.append(done.stdout + done.stderr)
        return done.returncode, done.stdout + done.stderr

    def login(password: str) -> redis.Redis:
        client = redis.Redis(
            username=username, password=password, socket_timeout=5, decode_responses=True
        )
        client.ping()
        return client

    code, out = shipway("provision", "apply", "-e", "dev", "--yes")
    assert code == 0, out
    assert f'url: "redis://{username}:${{secret:resources/cache/password}}@' in out
    code, out = shipway("provision", "plan", "-e", "dev")
    assert code == 0 and "No changes." in out, out
    first = vault(root, name, key).get("resources/cache/password").get_secret_value()
    client = login(first)
    assert client.set(f"{name}:k", "v") and client.get(f"{name}:k") == "v"
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.flushall()

    admin.execute_command("ACL", "SETUSER", username, "+flushall")
    code, out = shipway("provision", "drift", "-e", "dev")
    assert code == 1, out
    assert "cache (redis.acl_user): changed outside shipway" in out
    assert '"-function"] (recorded) -> [' in out and '"-function", "+flushall"] (now)' in out
    code, out = shipway("provision", "apply", "-e", "dev", "--yes")
    assert code == 0, out
    with pytest.raises(redis.exceptions.NoPermissionError):
        login(first).flushall()
    assert shipway("provision", "drift", "-e", "dev")[0] == 0

    code, out = shipway("provision", "rotate", "cache", "-e", "dev")
    assert code == 0, out
    second = vault(root, name, key).get("resources/cache/password").get_secret_value()
    assert second != first
    assert login(second).get(f"{name}:k") == "v"
    with pytest.raises(redis.AuthenticationError):
        login(first)

    code, out = shipway("provision", "destroy", "-e", "dev", "--yes")
    assert code == 0, out
    assert admin.acl_getuser(username) is None
    with pytest.raises(redis.AuthenticationError):
        login(second)

    written = everything_written(root)
    for secret in (first, second):
        assert not any(secret in text for text in outputs)
        assert secret.encode() not in written
