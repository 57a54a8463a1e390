"""`redis.acl_user` against the real Redis: create, what the user may and may not do,
change, drift, rotate, destroy and adopt. Redis checks ACL passwords, so every check
logs in as the user for real."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from shipway.provisioner import providers
from shipway.provisioner.context import ResourceContext
from shipway.provisioner.providers.interface import Observed, ProviderError
from shipway.provisioner.providers.redis import DEFAULT_COMMANDS, RedisAclUserProvider
from tests.provisioner.databases import Contexts, admin_redis_url, assert_no_secret, contexts

PROVIDER = RedisAclUserProvider()


@pytest.fixture
def admin() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(admin_redis_url(), socket_timeout=5, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def ctxs(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, admin: redis.Redis) -> Iterator[Contexts]:
    """Contexts of a fresh project; its users and keys are removed afterwards."""
    made = contexts(tmp_path, monkeypatch)
    yield made
    for user in admin.acl_users():
        if user.startswith(made.project):
            admin.acl_deluser(user)
    for key in admin.scan_iter(match=f"{made.project}*"):
        admin.delete(key)


def context(ctxs: Contexts, name: str = "cache") -> ResourceContext:
    ctx = ctxs(name)
    ctx.backend.set("redis_admin_url", SecretStr(admin_redis_url()))
    return ctx


def settings(ctxs: Contexts, **attributes: Any) -> Any:
    return PROVIDER.settings(
        {"server": "${secret:redis_admin_url}", "key_prefix": f"{ctxs.project}:", **attributes}
    )


def login(ctx: ResourceContext, observed: Observed, password: str | None = None) -> redis.Redis:
    """A client logged in as the user (with `password`, default the stored one)."""
    url = ctx.reveal(observed.outputs["url"])
    if password is not None:
        url = url.replace(current_password(ctx), password)
    client = redis.Redis.from_url(url, socket_timeout=5, decode_responses=True)
    client.ping()
    return client


def current_password(ctx: ResourceContext) -> str:
    secret = ctx.read_secret("password")
    assert secret is not None
    return secret.get_secret_value()


def diff(desired: dict[str, Any], observed: Observed | None) -> dict[str, tuple[Any, Any]]:
    assert observed is not None
    return {
        key: (observed.attributes.get(key), value)
        for key, value in desired.items()
        if observed.attributes.get(key) != value
    }


def test_registered_under_its_type() -> None:
    assert isinstance(providers.get("redis.acl_user"), RedisAclUserProvider)
    assert "-@dangerous" in DEFAULT_COMMANDS


def test_create_reads_back_unchanged_and_logs_in(ctxs: Contexts, admin: redis.Redis) -> None:
    ctx = context(ctxs)
    s = settings(ctxs)
    assert PROVIDER.read(ctx, s, PROVIDER.resource_id("cache", s)) is None

    made = PROVIDER.create(ctx, s)

    username = f"{ctxs.project}-dev-cache"
    assert made.resource_id == username
    again = PROVIDER.read(ctx, s, PROVIDER.resource_id("cache", s))
    assert again == made
    assert diff(PROVIDER.desired(s), again) == {}
    reference = "${secret:resources/cache/password}"
    assert made.outputs == {
        "url": f"redis://{username}:{reference}@127.0.0.1:6379/0",
        "host": "127.0.0.1",
        "port": 6379,
        "username": username,
        "password": reference,
        "key_prefix": f"{ctxs.project}:",
    }
    secret = current_password(ctx)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert_no_secret(secret, made, again)
    # The server keeps only the SHA-256 of the password.
    user = admin.acl_getuser(username)
    assert secret not in str(user)
    client = login(ctx, made)
    assert client.client_info()["user"] == username
    with pytest.raises(redis.AuthenticationError):
        login(ctx, made, password="not-the-password-0123456789")


def test_the_user_is_confined_to_its_prefix(ctxs: Contexts, admin: redis.Redis) -> None:
    ctx = context(ctxs)
    made = PROVIDER.create(ctx, settings(ctxs))
    mine = f"{ctxs.project}:note"
    other = f"{ctxs.project}-other:note"
    admin.set(other, "theirs")
    client = login(ctx, made)

    assert client.set(mine, "hello")
    assert client.get(mine) == "hello"
    assert client.incr(f"{ctxs.project}:count") == 1
    assert client.expire(mine, 60)
    with client.pipeline() as pipe:  # MULTI/EXEC, as redis-py pipelines do by default
        assert pipe.set(mine, "again").get(mine).execute() == [True, "again"]
    for command in (("GET", other), ("SET", other, "x"), ("DEL", other), ("RENAME", mine, other)):
        with pytest.raises(redis.exceptions.NoPermissionError, match="keys"):
            client.execute_command(*command)
    for command in (
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("CONFIG", "GET", "*"),
        ("KEYS", "*"),
        ("SCAN", "0"),
        ("RANDOMKEY",),
        ("INFO",),
        ("ACL", "LIST"),
        ("CLIENT", "KILL", "ID", "1"),
        ("CLIENT", "LIST"),
        ("SHUTDOWN",),
        ("FUNCTION", "FLUSH"),
    ):
        with pytest.raises(redis.exceptions.NoPermissionError, match="permissions to run"):
            client.execute_command(*command)
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.publish(f"{ctxs.project}:events", "hi")
    assert admin.get(other) == "theirs"


def test_update_in_place_changes_commands_prefix_and_channels(
    ctxs: Contexts, admin: redis.Redis
) -> None:
    ctx = context(ctxs)
    made = PROVIDER.create(ctx, settings(ctxs))
    secret = current_password(ctx)
    after = settings(
        ctxs,
        key_prefix=f"{ctxs.project}:v2:",
        commands="+@read +@connection -@dangerous +publish",
        channels=[f"{ctxs.project}.events.*"],
    )

    changes = diff(PROVIDER.desired(after), PROVIDER.read(ctx, after, made.resource_id))
    assert set(changes) == {"key_prefix", "commands", "channels"}
    changed = PROVIDER.update(ctx, after, made, changes)

    assert diff(PROVIDER.desired(after), PROVIDER.read(ctx, after, made.resource_id)) == {}
    assert changed.outputs["key_prefix"] == f"{ctxs.project}:v2:"
    assert current_password(ctx) == secret
    client = login(ctx, changed)
    admin.set(f"{ctxs.project}:v2:a", "1")
    assert client.get(f"{ctxs.project}:v2:a") == "1"
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.set(f"{ctxs.project}:v2:a", "2")  # +@write was taken away
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.get(f"{ctxs.project}:a")  # the old prefix
    assert client.publish(f"{ctxs.project}.events.x", "hi") == 0
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.publish("elsewhere", "hi")


def test_drift_made_by_hand_shows_in_read(ctxs: Contexts, admin: redis.Redis) -> None:
    ctx = context(ctxs)
    s = settings(ctxs)
    made = PROVIDER.create(ctx, s)
    admin.execute_command("ACL", "SETUSER", made.resource_id, "+flushall", "~*", "&*")

    drifted = PROVIDER.read(ctx, s, made.resource_id)
    changes = diff(PROVIDER.desired(s), drifted)

    assert set(changes) == {"commands", "key_prefix", "channels"}
    assert changes["commands"] == ([*DEFAULT_COMMANDS, "+flushall"], list(DEFAULT_COMMANDS))
    assert changes["channels"] == (["*"], [])
    assert drifted is not None
    fixed = PROVIDER.update(ctx, s, drifted, changes)
    assert diff(PROVIDER.desired(s), fixed) == {}
    with pytest.raises(redis.exceptions.NoPermissionError):
        login(ctx, fixed).flushall()


def test_a_disabled_user_is_drift(ctxs: Contexts, admin: redis.Redis) -> None:
    ctx = context(ctxs)
    s = settings(ctxs)
    made = PROVIDER.create(ctx, s)
    admin.execute_command("ACL", "SETUSER", made.resource_id, "off")
    drifted = PROVIDER.read(ctx, s, made.resource_id)
    assert set(diff(PROVIDER.desired(s), drifted)) == {"commands"}
    assert drifted is not None
    PROVIDER.update(ctx, s, drifted, diff(PROVIDER.desired(s), drifted))
    assert login(ctx, made).ping()


def test_rotate_retires_the_old_password(ctxs: Contexts) -> None:
    ctx = context(ctxs)
    s = settings(ctxs)
    made = PROVIDER.create(ctx, s)
    old = current_password(ctx)

    rotated = PROVIDER.rotate(ctx, s, made)

    new = current_password(ctx)
    assert new != old
    assert login(ctx, rotated).client_info()["user"] == made.resource_id
    with pytest.raises(redis.AuthenticationError):
        login(ctx, rotated, password=old)
    assert_no_secret(new, rotated)
    assert_no_secret(old, rotated)


def test_delete_removes_the_user_and_its_secret(ctxs: Contexts, admin: redis.Redis) -> None:
    ctx = context(ctxs)
    s = settings(ctxs)
    made = PROVIDER.create(ctx, s)
    url = ctx.reveal(made.outputs["url"])

    PROVIDER.delete(ctx, s, made)

    assert PROVIDER.read(ctx, s, made.resource_id) is None
    assert admin.acl_getuser(made.resource_id) is None
    assert ctx.read_secret("password") is None
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(url, socket_timeout=5).ping()
    PROVIDER.delete(ctx, s, made)  # already gone: not an error


def test_adopt_takes_over_an_existing_user(ctxs: Contexts, admin: redis.Redis) -> None:
    username = f"{ctxs.project}-legacy"
    admin.execute_command(
        "ACL", "SETUSER", username, "on", ">kept-by-hand", f"~{ctxs.project}:*", "+@all"
    )
    ctx = context(ctxs, "legacy")
    s = settings(ctxs, username=username)

    adopted = PROVIDER.adopt(ctx, s, username)

    assert adopted.resource_id == username
    assert diff(PROVIDER.desired(s), adopted) == {"commands": (["+@all"], list(DEFAULT_COMMANDS))}
    assert redis.Redis(username=username, password="kept-by-hand", socket_timeout=5).ping()
    with pytest.raises(ProviderError, match="does not exist"):
        PROVIDER.adopt(ctx, s, f"{ctxs.project}-missing")


def test_server_errors_carry_the_server_message_and_no_secret(
    ctxs: Contexts, admin: redis.Redis
) -> None:
    weak = f"{ctxs.project}-weak"
    admin.execute_command("ACL", "SETUSER", weak, "on", ">W3akAdminPassw0rd", "+@read")
    ctx = ctxs("cache")
    ctx.backend.set(
        "redis_admin_url", SecretStr(f"redis://{weak}:W3akAdminPassw0rd@127.0.0.1:6379")
    )

    with pytest.raises(ProviderError) as failure:
        PROVIDER.create(ctx, settings(ctxs))

    message = str(failure.value)
    assert "creating ACL user" in message and "no permissions" in message
    assert "W3akAdminPassw0rd" not in message and failure.value.__cause__ is None


def test_an_unreachable_server_fails_within_the_timeout(ctxs: Contexts) -> None:
    ctx = ctxs("cache", timeout=3)
    ctx.backend.set("redis_admin_url", SecretStr("redis://admin:Hidden0Password9@127.0.0.1:1/0"))
    with pytest.raises(ProviderError) as failure:
        PROVIDER.read(ctx, settings(ctxs), "cache")
    assert "reading ACL user" in str(failure.value)
    assert "Hidden0Password9" not in str(failure.value)


def test_bad_attributes_are_refused(ctxs: Contexts) -> None:
    with pytest.raises(ValueError, match="key_prefix"):
        settings(ctxs, key_prefix="a*")
    with pytest.raises(ValueError, match="not a command rule"):
        settings(ctxs, commands=["allkeys"])
    with pytest.raises(ValueError, match="not a command rule"):
        settings(ctxs, commands=[">password"])
    with pytest.raises(ValueError, match="username"):
        settings(ctxs, username="has space")


def test_adopt_reads_exactly_the_id_given(ctxs: Contexts, admin: redis.Redis) -> None:
    resource = f"{ctxs.project}x"
    admin.execute_command("ACL", "SETUSER", resource, "on", f"~{ctxs.project}:*", "+get")
    ctx = context(ctxs, resource)
    adopted = PROVIDER.adopt(ctx, settings(ctxs), resource)
    assert adopted.resource_id == resource
    assert adopted.attributes["username"] == resource
    assert adopted.attributes["commands"] == ["-@all", "+get"]


def test_no_password_reaches_a_log_record(ctxs: Contexts, caplog: pytest.LogCaptureFixture) -> None:
    ctx = context(ctxs)
    s = settings(ctxs)
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        made = PROVIDER.create(ctx, s)
        seen.append(current_password(ctx))
        rotated = PROVIDER.rotate(ctx, s, made)
        seen.append(current_password(ctx))
        login(ctx, rotated).set(f"{ctxs.project}:x", "1")
        PROVIDER.delete(ctx, s, rotated)
    for secret in seen:
        assert secret not in caplog.text
