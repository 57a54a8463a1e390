"""`postgres.role` against the real PostgreSQL: a read-only reporting role on an
application's database, its grants read back from the catalogs (so a grant changed by
hand is drift), changed, rotated, adopted and dropped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from shipway.provisioner import providers
from shipway.provisioner.context import ResourceContext
from shipway.provisioner.providers.interface import Observed, ProviderError
from shipway.provisioner.providers.postgres import PostgresDatabaseProvider
from shipway.provisioner.providers.postgres_role import PostgresRoleProvider
from tests.provisioner.databases import (
    Contexts,
    admin_pg_url,
    assert_no_secret,
    contexts,
    scram_matches,
)

PROVIDER = PostgresRoleProvider()
DATABASES = PostgresDatabaseProvider()


@pytest.fixture
def admin() -> str:
    return admin_pg_url()


@pytest.fixture
def ctxs(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, admin: str) -> Iterator[Contexts]:
    made = contexts(tmp_path, monkeypatch)
    yield made
    like = f"managed by shipway: {made.project}/%"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        for (db,) in conn.execute(
            "SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE %s",
            [like],
        ).fetchall():
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )
        for (role,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE %s",
            [like],
        ).fetchall():
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def context(ctxs: Contexts, admin: str, name: str) -> ResourceContext:
    ctx = ctxs(name)
    ctx.backend.set("pg_admin_url", SecretStr(admin))
    return ctx


def settings(provider: Any, **attributes: Any) -> Any:
    return provider.settings({"server": "${secret:pg_admin_url}", **attributes})


def diff(desired: dict[str, Any], observed: Observed | None) -> dict[str, tuple[Any, Any]]:
    assert observed is not None
    return {
        key: (observed.attributes.get(key), value)
        for key, value in desired.items()
        if observed.attributes.get(key) != value
    }


@pytest.fixture
def app(ctxs: Contexts, admin: str) -> tuple[str, str]:
    """An application database with a table its own role made: (database, app URL)."""
    ctx = context(ctxs, admin, "db")
    made = DATABASES.create(ctx, settings(DATABASES))
    url = ctx.reveal(made.outputs["url"])
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE notes (id int, text text)")
        conn.execute("INSERT INTO notes VALUES (1, 'hi')")
    return made.resource_id, url


def reader_grants(database: str) -> list[dict[str, Any]]:
    return [
        {"database": database, "privileges": ["connect"]},
        {"database": database, "schema": "public", "tables": ["select"]},
    ]


def as_role(ctx: ResourceContext, observed: Observed) -> psycopg.Connection[Any]:
    return psycopg.connect(ctx.reveal(observed.outputs["url"]), autocommit=True, connect_timeout=5)


def test_registered_under_its_type() -> None:
    assert isinstance(providers.get("postgres.role"), PostgresRoleProvider)


def test_a_reader_reads_now_and_later_and_writes_nothing(
    ctxs: Contexts, admin: str, app: tuple[str, str]
) -> None:
    database, app_url = app
    ctx = context(ctxs, admin, "reporting")
    s = settings(PROVIDER, grants=reader_grants(database), connection_limit=4)
    assert PROVIDER.read(ctx, s, PROVIDER.resource_id("reporting", s)) is None

    made = PROVIDER.create(ctx, s)

    assert made.resource_id == f"{ctxs.project}_dev_reporting"
    assert diff(PROVIDER.desired(s), PROVIDER.read(ctx, s, "reporting")) == {}
    assert made.attributes["grants"] == [
        {"database": database, "privileges": ["connect"]},
        {"database": database, "schema": "public", "privileges": ["usage"], "tables": ["select"]},
    ]
    assert made.outputs["user"] == made.resource_id
    assert made.outputs["password"] == "${secret:resources/reporting/password}"
    secret = ctx.read_secret("password")
    assert secret is not None
    with psycopg.connect(admin, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT rolpassword, rolconnlimit, rolsuper FROM pg_authid WHERE rolname = %s",
            [made.resource_id],
        ).fetchone()
    assert row is not None and scram_matches(row[0], secret.get_secret_value())
    assert row[1:] == (4, False)
    assert_no_secret(secret.get_secret_value(), made)

    with psycopg.connect(app_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE later (x int)")  # made after the grant
        conn.execute("INSERT INTO later VALUES (7)")
    with as_role(ctx, made) as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("hi",)]
        assert conn.execute("SELECT x FROM later").fetchall() == [(7,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO notes VALUES (2, 'no')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE mine (x int)")
    assert diff(PROVIDER.desired(s), PROVIDER.read(ctx, s, made.resource_id)) == {}


def test_grants_changed_by_hand_are_drift_and_update_restores_them(
    ctxs: Contexts, admin: str, app: tuple[str, str]
) -> None:
    database, _ = app
    ctx = context(ctxs, admin, "reporting")
    s = settings(PROVIDER, grants=reader_grants(database))
    made = PROVIDER.create(ctx, s)
    who = sql.Identifier(made.resource_id)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5, dbname=database) as conn:
        conn.execute(sql.SQL("REVOKE SELECT ON notes FROM {}").format(who))
        conn.execute(
            sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(sql.Identifier(database), who)
        )

    drifted = PROVIDER.read(ctx, s, made.resource_id)
    changes = diff(PROVIDER.desired(s), drifted)

    assert set(changes) == {"grants"}
    assert changes["grants"][0] == [
        {"database": database, "privileges": ["connect", "temporary"]},
        {"database": database, "schema": "public", "privileges": ["usage"], "tables": []},
    ]
    assert drifted is not None
    PROVIDER.update(ctx, s, drifted, changes)
    assert diff(PROVIDER.desired(s), PROVIDER.read(ctx, s, made.resource_id)) == {}
    with as_role(ctx, made) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone() == (1,)


def test_update_adds_and_removes_privileges(
    ctxs: Contexts, admin: str, app: tuple[str, str]
) -> None:
    database, _ = app
    ctx = context(ctxs, admin, "writer")
    before = settings(PROVIDER, grants=reader_grants(database))
    made = PROVIDER.create(ctx, before)
    after = settings(
        PROVIDER,
        connection_limit=2,
        grants=[
            {"database": database, "privileges": ["connect"]},
            {"database": database, "schema": "public", "tables": ["insert", "select", "update"]},
        ],
    )
    changes = diff(PROVIDER.desired(after), PROVIDER.read(ctx, after, made.resource_id))
    assert set(changes) == {"grants", "connection_limit"}

    changed = PROVIDER.update(ctx, after, made, changes)

    assert diff(PROVIDER.desired(after), changed) == {}
    with as_role(ctx, changed) as conn:
        conn.execute("INSERT INTO notes VALUES (2, 'yes')")
        conn.execute("UPDATE notes SET text = 'changed' WHERE id = 2")
    # Back to reading only: the write privileges are revoked, now and for later tables.
    PROVIDER.update(ctx, before, changed, diff(PROVIDER.desired(before), changed))
    with as_role(ctx, made) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO notes VALUES (3, 'no')")
    assert diff(PROVIDER.desired(before), PROVIDER.read(ctx, before, made.resource_id)) == {}


def test_rotate_delete_and_delete_again(ctxs: Contexts, admin: str, app: tuple[str, str]) -> None:
    database, _ = app
    ctx = context(ctxs, admin, "reporting")
    s = settings(PROVIDER, grants=reader_grants(database))
    made = PROVIDER.create(ctx, s)
    old = ctx.read_secret("password")

    rotated = PROVIDER.rotate(ctx, s, made)

    new = ctx.read_secret("password")
    assert old is not None and new is not None and new != old
    with psycopg.connect(admin, connect_timeout=5) as conn:
        stored = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [made.resource_id]
        ).fetchone()
    assert stored is not None and scram_matches(stored[0], new.get_secret_value())
    assert_no_secret(new.get_secret_value(), rotated)

    PROVIDER.delete(ctx, s, rotated)

    assert PROVIDER.read(ctx, s, made.resource_id) is None
    assert ctx.read_secret("password") is None
    with psycopg.connect(admin, connect_timeout=5, dbname=database) as conn:
        assert conn.execute(
            "SELECT count(*) FROM pg_default_acl d, aclexplode(d.defaclacl) a"
            " WHERE a.grantee NOT IN (SELECT oid FROM pg_roles)"
        ).fetchone() == (0,)
    PROVIDER.delete(ctx, s, rotated)


def test_adopt_and_a_role_made_by_someone_else(ctxs: Contexts, admin: str) -> None:
    name = f"{ctxs.project}_legacy"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT 3").format(sql.Identifier(name))
        )
    ctx = context(ctxs, admin, "legacy")
    s = settings(PROVIDER, name=name, connection_limit=3)

    with pytest.raises(ProviderError, match="already exists and was not created"):
        PROVIDER.create(ctx, s)
    adopted = PROVIDER.adopt(ctx, s, name)

    assert diff(PROVIDER.desired(s), adopted) == {}
    PROVIDER.delete(ctx, s, adopted)
    assert PROVIDER.read(ctx, s, name) is None


def test_bad_grants_are_refused() -> None:
    with pytest.raises(ValueError, match="not a database privilege"):
        settings(PROVIDER, grants=[{"database": "x", "privileges": ["select"]}])
    with pytest.raises(ValueError, match="needs a `schema`"):
        settings(PROVIDER, grants=[{"database": "x", "tables": ["select"]}])
    with pytest.raises(ValueError, match="not a table privilege"):
        settings(PROVIDER, grants=[{"database": "x", "schema": "s", "tables": ["connect"]}])
    ok = settings(PROVIDER, grants=[{"database": "x", "privileges": ["TEMP", "connect"]}])
    assert PROVIDER.desired(ok)["grants"] == [
        {"database": "x", "privileges": ["connect", "temporary"]}
    ]


def test_a_role_without_login_gets_no_password(ctxs: Contexts, admin: str) -> None:
    ctx = context(ctxs, admin, "group")
    s = settings(PROVIDER, login=False)
    made = PROVIDER.create(ctx, s)
    assert made.attributes["login"] is False
    assert "password" not in made.outputs and "url" not in made.outputs
    assert ctx.read_secret("password") is None
    with pytest.raises(ProviderError, match="cannot log in"):
        PROVIDER.rotate(ctx, s, made)
    assert diff(PROVIDER.desired(s), PROVIDER.read(ctx, s, "group")) == {}
    login = settings(PROVIDER, login=True)
    changed = PROVIDER.update(ctx, login, made, diff(PROVIDER.desired(login), made))
    assert changed.attributes["login"] is True
    assert ctx.read_secret("password") is not None
