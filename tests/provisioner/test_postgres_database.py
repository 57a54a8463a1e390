"""`postgres.database` against the real PostgreSQL: create, least privilege, change,
drift, rotate, destroy and adopt, with the secret kept out of everything returned."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr

from shipway.provisioner import providers
from shipway.provisioner.context import ResourceContext
from shipway.provisioner.providers.interface import Observed, ProviderError
from shipway.provisioner.providers.postgres import PostgresDatabaseProvider
from shipway.provisioner.providers.postgres_server import derived_name, sanitise
from tests.provisioner.databases import (
    Contexts,
    admin_pg_url,
    assert_no_secret,
    contexts,
    scram_matches,
)

PROVIDER = PostgresDatabaseProvider()


@pytest.fixture
def admin() -> str:
    return admin_pg_url()


@pytest.fixture
def ctxs(tmp_path: Any, monkeypatch: pytest.MonkeyPatch, admin: str) -> Iterator[Contexts]:
    """Contexts of a fresh project whose vault holds `pg_admin_url`; every database and
    role the test's project made is dropped afterwards."""
    made = contexts(tmp_path, monkeypatch)
    yield made
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        like = f"managed by shipway: {made.project}/%"
        for (db,) in conn.execute(
            "SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE %s",
            [like],
        ).fetchall():
            conn.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(db)
                )
            )
        for (role,) in conn.execute(
            "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE %s",
            [like],
        ).fetchall():
            conn.execute(
                psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(role))
            )


def context(ctxs: Contexts, admin: str, name: str = "db") -> ResourceContext:
    ctx = ctxs(name)
    ctx.backend.set("pg_admin_url", SecretStr(admin))
    return ctx


def settings(**attributes: Any) -> Any:
    return PROVIDER.settings({"server": "${secret:pg_admin_url}", **attributes})


def password(ctx: ResourceContext) -> str:
    secret = ctx.read_secret("password")
    assert secret is not None
    return secret.get_secret_value()


def app_url(ctx: ResourceContext, observed: Observed) -> str:
    return ctx.reveal(observed.outputs["url"])


def verifier(admin: str, role: str) -> str:
    with psycopg.connect(admin, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role]
        ).fetchone()
    assert row is not None
    return str(row[0])


def diff(desired: dict[str, Any], observed: Observed | None) -> dict[str, tuple[Any, Any]]:
    """What the engine compares: attribute -> (observed, desired), changed keys only."""
    assert observed is not None
    return {
        key: (observed.attributes.get(key), value)
        for key, value in desired.items()
        if observed.attributes.get(key) != value
    }


def test_registered_under_its_type() -> None:
    assert isinstance(providers.get("postgres.database"), PostgresDatabaseProvider)
    assert {"name", "encoding", "locale"} <= PROVIDER.replace_on
    assert PROVIDER.rotatable


def test_default_name_is_project_environment_resource_sanitised(ctxs: Contexts) -> None:
    ctx = ctxs("db")
    assert derived_name(ctx) == f"{ctxs.project}_dev_db"
    assert sanitise("Notes-App_Prod.Main") == "notes_app_prod_main"
    assert sanitise("9lives") == "_9lives"
    long = sanitise("x" * 100)
    assert len(long) <= 63 and re.fullmatch(r"x+_[0-9a-f]{8}", long)
    assert sanitise("y" * 100) != long


def test_create_reads_back_unchanged_and_keeps_the_password_secret(
    ctxs: Contexts, admin: str
) -> None:
    ctx = context(ctxs, admin)
    s = settings(extensions=["citext"], connection_limit=20)
    assert PROVIDER.read(ctx, s, PROVIDER.resource_id("db", s)) is None

    made = PROVIDER.create(ctx, s)

    database = f"{ctxs.project}_dev_db"
    assert made.resource_id == database
    again = PROVIDER.read(ctx, s, PROVIDER.resource_id("db", s))
    assert again == made
    assert diff(PROVIDER.desired(s), again) == {}
    assert made.attributes["extensions"] == ["citext"]
    reference = "${secret:resources/db/password}"
    assert made.outputs == {
        "url": f"postgresql://{database}:{reference}@127.0.0.1:5432/{database}",
        "host": "127.0.0.1",
        "port": 5432,
        "database": database,
        "user": database,
        "password": reference,
    }
    secret = password(ctx)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)  # URL-safe: no escaping in the URL
    # NOTE: the server trusts 127.0.0.1, so a login would not check the password; the
    # stored SCRAM verifier is recomputed from the generated password instead.
    assert scram_matches(verifier(admin, database), secret)
    assert not scram_matches(verifier(admin, database), secret + "x")
    assert_no_secret(secret, made, again, made.attributes, made.outputs)
    with psycopg.connect(admin, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
            "rolcanlogin FROM pg_roles WHERE rolname = %s",
            [database],
        ).fetchone()
        assert row == (False, False, False, False, False, True)


def test_the_role_works_in_its_database_and_nowhere_else(ctxs: Contexts, admin: str) -> None:
    ctx = context(ctxs, admin, "db")
    other_ctx = context(ctxs, admin, "billing")
    mine = PROVIDER.create(ctx, settings(owner_role=f"{ctxs.project}_app"))
    theirs = PROVIDER.create(other_ctx, settings())
    with psycopg.connect(app_url(other_ctx, theirs), autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE invoices (id int PRIMARY KEY, amount int)")
        conn.execute("INSERT INTO invoices VALUES (1, 100)")

    with psycopg.connect(app_url(ctx, mine), autocommit=True, connect_timeout=5) as conn:
        assert conn.info.user == f"{ctxs.project}_app"
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, text text)")
        conn.execute("INSERT INTO notes (text) VALUES ('hi')")
        assert conn.execute("SELECT text FROM notes").fetchall() == [("hi",)]
        conn.execute("CREATE TEMP TABLE scratch (x int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="create database"):
            conn.execute("CREATE DATABASE stolen")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="create role"):
            conn.execute("CREATE ROLE stolen")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE SCHEMA extra")

    other_db = theirs.outputs["database"]
    my_url = app_url(ctx, mine).rsplit("/", 1)[0] + "/" + other_db
    with pytest.raises(psycopg.OperationalError, match="CONNECT privilege"):
        psycopg.connect(my_url, connect_timeout=5)
    # Even with CONNECT granted by mistake, the other application's tables stay closed.
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            psycopg.sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                psycopg.sql.Identifier(other_db), psycopg.sql.Identifier(f"{ctxs.project}_app")
            )
        )
    with psycopg.connect(my_url, connect_timeout=5) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="invoices"):
            conn.execute("SELECT * FROM invoices")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE intruder (x int)")


def test_update_in_place_changes_extensions_and_limits(ctxs: Contexts, admin: str) -> None:
    ctx = context(ctxs, admin)
    before = settings(extensions=["citext"])
    made = PROVIDER.create(ctx, before)
    after = settings(extensions=["hstore", "pg_trgm"], connection_limit=7, owner_connection_limit=3)

    changes = diff(PROVIDER.desired(after), PROVIDER.read(ctx, after, made.resource_id))
    assert set(changes) == {"extensions", "connection_limit", "owner_connection_limit"}
    assert not set(changes) & PROVIDER.replace_on
    secret = password(ctx)
    changed = PROVIDER.update(ctx, after, made, changes)

    assert changed.attributes["extensions"] == ["hstore", "pg_trgm"]
    assert diff(PROVIDER.desired(after), PROVIDER.read(ctx, after, made.resource_id)) == {}
    with psycopg.connect(admin, connect_timeout=5, dbname=made.resource_id) as conn:
        assert conn.execute(
            "SELECT datconnlimit FROM pg_database WHERE datname = current_database()"
        ).fetchone() == (7,)
        assert conn.execute("SELECT 'a=>1'::hstore -> 'a'").fetchone() == ("1",)
    assert password(ctx) == secret  # an update leaves the credential alone


def test_owner_role_is_renamed_in_place_and_keeps_its_tables(ctxs: Contexts, admin: str) -> None:
    ctx = context(ctxs, admin)
    made = PROVIDER.create(ctx, settings(owner_role=f"{ctxs.project}_old"))
    with psycopg.connect(app_url(ctx, made), autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE kept (x int)")
    after = settings(owner_role=f"{ctxs.project}_new")
    changes = diff(PROVIDER.desired(after), PROVIDER.read(ctx, after, made.resource_id))
    assert set(changes) == {"owner_role"}

    changed = PROVIDER.update(ctx, after, made, changes)

    assert changed.outputs["user"] == f"{ctxs.project}_new"
    assert scram_matches(verifier(admin, f"{ctxs.project}_new"), password(ctx))
    with psycopg.connect(app_url(ctx, changed), autocommit=True, connect_timeout=5) as conn:
        conn.execute("INSERT INTO kept VALUES (1)")


def test_drift_made_by_hand_shows_in_read(ctxs: Contexts, admin: str) -> None:
    ctx = context(ctxs, admin)
    s = settings(extensions=["citext"])
    made = PROVIDER.create(ctx, s)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            psycopg.sql.SQL("ALTER DATABASE {} CONNECTION LIMIT 2").format(
                psycopg.sql.Identifier(made.resource_id)
            )
        )
    with psycopg.connect(
        admin, autocommit=True, connect_timeout=5, dbname=made.resource_id
    ) as conn:
        conn.execute("CREATE EXTENSION hstore")
        conn.execute("ALTER SCHEMA public OWNER TO postgres")

    drifted = PROVIDER.read(ctx, s, made.resource_id)
    changes = diff(PROVIDER.desired(s), drifted)

    assert changes == {
        "connection_limit": (2, -1),
        "extensions": (["citext", "hstore"], ["citext"]),
        "owner_role": ("postgres", None),
    }
    assert drifted is not None

    secret = password(ctx)
    PROVIDER.update(ctx, s, drifted, changes)
    assert diff(PROVIDER.desired(s), PROVIDER.read(ctx, s, made.resource_id)) == {}
    # Repairing drift leaves the running application's password alone.
    assert password(ctx) == secret
    assert scram_matches(verifier(admin, made.outputs["user"]), secret)
    with psycopg.connect(app_url(ctx, made), autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE again (x int)")


def test_rotate_sets_a_new_password(ctxs: Contexts, admin: str) -> None:
    ctx = context(ctxs, admin)
    s = settings()
    made = PROVIDER.create(ctx, s)
    old = password(ctx)

    rotated = PROVIDER.rotate(ctx, s, made)

    new = password(ctx)
    assert new != old
    assert scram_matches(verifier(admin, made.outputs["user"]), new)
    assert not scram_matches(verifier(admin, made.outputs["user"]), old)
    assert rotated.outputs["password"] == "${secret:resources/db/password}"
    assert_no_secret(new, rotated)
    assert_no_secret(old, rotated)


def test_delete_drops_database_and_role_even_while_connected(ctxs: Contexts, admin: str) -> None:
    ctx = context(ctxs, admin)
    s = settings()
    made = PROVIDER.create(ctx, s)
    session = psycopg.connect(app_url(ctx, made), connect_timeout=5)
    try:
        PROVIDER.delete(ctx, s, made)
    finally:
        session.close()

    assert PROVIDER.read(ctx, s, made.resource_id) is None
    with psycopg.connect(admin, connect_timeout=5) as conn:
        assert (
            conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", [made.outputs["user"]]
            ).fetchone()
            is None
        )
    assert ctx.read_secret("password") is None
    PROVIDER.delete(ctx, s, made)  # already gone: not an error


def test_create_refuses_a_role_it_did_not_make(ctxs: Contexts, admin: str) -> None:
    taken = f"{ctxs.project}_taken"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(psycopg.sql.SQL("CREATE ROLE {}").format(psycopg.sql.Identifier(taken)))
    try:
        with pytest.raises(ProviderError, match="already exists and was not created"):
            PROVIDER.create(context(ctxs, admin), settings(owner_role=taken))
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(taken)))


def _drop(admin: str, database: str, *roles: str) -> None:
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                psycopg.sql.Identifier(database)
            )
        )
        for role in roles:
            conn.execute(
                psycopg.sql.SQL("DROP ROLE IF EXISTS {}").format(psycopg.sql.Identifier(role))
            )


def _no_shipway_comment_on_system_roles(admin: str) -> None:
    with psycopg.connect(admin, connect_timeout=5) as conn:
        marked = conn.execute(
            "SELECT rolname FROM pg_roles WHERE (rolsuper OR rolname LIKE 'pg\\_%%')"
            " AND shobj_description(oid, 'pg_authid') LIKE 'managed by shipway:%%'"
        ).fetchall()
    assert marked == []


@pytest.mark.parametrize("layout", ["role owns the database", "role owns the schema"])
def test_adopt_takes_over_an_existing_database_without_touching_its_password(
    ctxs: Contexts, admin: str, layout: str
) -> None:
    database, role = f"{ctxs.project}_legacy", f"{ctxs.project}_legacy_app"
    db, who = psycopg.sql.Identifier(database), psycopg.sql.Identifier(role)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                psycopg.sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'kept-by-hand-0123456789'").format(
                    who
                )
            )
            if layout == "role owns the database":
                # PostgreSQL 15: `public` belongs to pg_database_owner, i.e. to the role.
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {} OWNER {}").format(db, who))
            else:
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(db))
                with psycopg.connect(
                    admin, autocommit=True, connect_timeout=5, dbname=database
                ) as inner:
                    inner.execute(psycopg.sql.SQL("ALTER SCHEMA public OWNER TO {}").format(who))
        ctx = context(ctxs, admin, "legacy")
        s = settings(name=database, owner_role=role)
        before = verifier(admin, role)

        adopted = PROVIDER.adopt(ctx, s, database)

        assert adopted.resource_id == database
        assert adopted.outputs["user"] == role
        assert diff(PROVIDER.desired(s), adopted) == {}
        assert verifier(admin, role) == before
        assert scram_matches(before, "kept-by-hand-0123456789")
        _no_shipway_comment_on_system_roles(admin)
        PROVIDER.delete(ctx, s, adopted)
        assert PROVIDER.read(ctx, s, database) is None
        with psycopg.connect(admin, connect_timeout=5) as conn:
            assert (
                conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone() is None
            )
        with pytest.raises(ProviderError, match="does not exist"):
            PROVIDER.adopt(ctx, s, database)
    finally:
        _drop(admin, database, role)


def test_adopting_a_database_the_admin_owns_never_drops_the_admin(
    ctxs: Contexts, admin: str
) -> None:
    database = f"{ctxs.project}_admins"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database))
            )
            admin_role = conn.execute("SELECT current_user").fetchone()
        assert admin_role is not None
        ctx = context(ctxs, admin, "admins")
        s = settings(name=database)

        adopted = PROVIDER.adopt(ctx, s, database)

        assert adopted.outputs["user"] == admin_role[0]
        assert diff(PROVIDER.desired(s), adopted) == {"owner_role": (admin_role[0], None)}
        _no_shipway_comment_on_system_roles(admin)
        PROVIDER.delete(ctx, s, adopted)
        assert PROVIDER.read(ctx, s, database) is None
        with psycopg.connect(admin, connect_timeout=5) as conn:
            assert conn.execute("SELECT current_user").fetchone() == admin_role
    finally:
        _drop(admin, database)


def test_a_name_change_is_a_replacement(ctxs: Contexts, admin: str) -> None:
    ctx = context(ctxs, admin)
    made = PROVIDER.create(ctx, settings(name=f"{ctxs.project}_first"))
    renamed = settings(name=f"{ctxs.project}_second")
    changes = diff(PROVIDER.desired(renamed), PROVIDER.read(ctx, renamed, made.resource_id))
    assert set(changes) == {"name", "owner_role"}
    assert "name" in PROVIDER.replace_on


def test_server_errors_carry_the_server_message_and_no_secret(ctxs: Contexts, admin: str) -> None:
    weak = f"{ctxs.project}_weak"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN CREATEROLE").format(psycopg.sql.Identifier(weak))
        )
    ctx = ctxs("db")
    base = admin.split("://", 1)[1].split("@", 1)[1]
    ctx.backend.set("pg_admin_url", SecretStr(f"postgresql://{weak}:Sup3rSecretAdminPw@{base}"))
    try:
        with pytest.raises(ProviderError) as failure:
            PROVIDER.create(ctx, settings())
        message = str(failure.value)
        assert "permission denied to create database" in message
        assert "creating database" in message
        assert "Sup3rSecretAdminPw" not in message and "Sup3rSecretAdminPw" not in repr(
            failure.value
        )
        assert failure.value.__cause__ is None
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            for (role,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE %s",
                [f"managed by shipway: {ctxs.project}/%"],
            ).fetchall():
                conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(role)))
            conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(weak)))


def test_an_unreachable_server_fails_within_the_timeout(ctxs: Contexts) -> None:
    ctx = ctxs("db", timeout=3)
    ctx.backend.set(
        "pg_admin_url", SecretStr("postgresql://postgres:Hidden0Password9@127.0.0.1:1/test")
    )
    with pytest.raises(ProviderError) as failure:
        PROVIDER.read(ctx, settings(), "db")
    assert "reading the database" in str(failure.value)
    assert "Hidden0Password9" not in str(failure.value)


def test_bad_attributes_are_refused() -> None:
    with pytest.raises(ValueError, match="owner_role"):
        settings(owner_role="x" * 64)
    with pytest.raises(ValueError, match="connection_limit"):
        settings(connection_limit=-2)
    with pytest.raises(ValueError, match=r"owner"):
        settings(owner="x")
    assert settings(encoding="utf-8").encoding == "UTF8"


def test_an_admin_that_is_not_superuser_is_enough(ctxs: Contexts, admin: str) -> None:
    """Managed PostgreSQL services give CREATEDB and CREATEROLE, not superuser."""
    boss = f"{ctxs.project}_boss"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE").format(
                psycopg.sql.Identifier(boss)
            )
        )
    ctx = ctxs("db")
    base = admin.split("://", 1)[1].split("@", 1)[1]
    ctx.backend.set("pg_admin_url", SecretStr(f"postgresql://{boss}@{base}"))
    s = settings(extensions=["citext"])
    try:
        made = PROVIDER.create(ctx, s)
        assert diff(PROVIDER.desired(s), PROVIDER.read(ctx, s, "db")) == {}
        with psycopg.connect(app_url(ctx, made), autocommit=True, connect_timeout=5) as conn:
            conn.execute("CREATE TABLE notes (text citext)")
            conn.execute("INSERT INTO notes VALUES ('Hi')")
            assert conn.execute("SELECT count(*) FROM notes WHERE text = 'hi'").fetchone() == (1,)
        more = settings(extensions=["citext", "pg_trgm"], connection_limit=5)
        changed = PROVIDER.update(ctx, more, made, diff(PROVIDER.desired(more), made))
        assert diff(PROVIDER.desired(more), changed) == {}
        PROVIDER.rotate(ctx, more, changed)
        assert scram_matches(verifier(admin, made.outputs["user"]), password(ctx))
        PROVIDER.delete(ctx, more, changed)
        assert PROVIDER.read(ctx, more, made.resource_id) is None
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            for (db,) in conn.execute(
                "SELECT datname FROM pg_database WHERE datdba = %s::regrole", [boss]
            ).fetchall():
                conn.execute(
                    psycopg.sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                        psycopg.sql.Identifier(db)
                    )
                )
            for (role,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') LIKE %s",
                [f"managed by shipway: {ctxs.project}/%"],
            ).fetchall():
                conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(role)))
            conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(psycopg.sql.Identifier(boss)))


def test_a_default_name_that_changes_with_the_environment_is_a_replacement(
    ctxs: Contexts, admin: str
) -> None:
    ctx = context(ctxs, admin)
    s = settings()
    made = PROVIDER.create(ctx, s)
    assert made.attributes["name"] is None  # the default, derived name
    staging = Contexts(ctxs.root, ctxs.project, "staging")("db")
    staging.backend.set("pg_admin_url", SecretStr(admin))

    # The record still names the dev database: read shows it is not staging's default.
    seen = PROVIDER.read(staging, s, made.resource_id)
    assert seen is not None and seen.attributes["name"] == made.resource_id
    assert set(diff(PROVIDER.desired(s), seen)) == {"name", "owner_role"}
    # With no record yet, staging looks for its own database, which does not exist.
    assert PROVIDER.read(staging, s, PROVIDER.resource_id("db", s)) is None


def test_adopt_reads_exactly_the_id_given(ctxs: Contexts, admin: str) -> None:
    """A database named like the resource itself is adopted, not the derived name."""
    resource = f"{ctxs.project}x"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(resource))
            )
        ctx = context(ctxs, admin, resource)
        adopted = PROVIDER.adopt(ctx, settings(), resource)
        assert adopted.resource_id == resource
        assert adopted.attributes["name"] == resource  # not the default: a replacement is due
    finally:
        _drop(admin, resource)


def test_no_password_reaches_a_log_record(
    ctxs: Contexts, admin: str, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = context(ctxs, admin)
    s = settings()
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        made = PROVIDER.create(ctx, s)
        seen.append(password(ctx))
        rotated = PROVIDER.rotate(ctx, s, made)
        seen.append(password(ctx))
        PROVIDER.delete(ctx, s, rotated)
    for secret in seen:
        assert secret not in caplog.text
