"""The application's role of a `postgres.database`: made (or taken back) with a generated
password, given CONNECT and TEMPORARY on its database and the `public` schema, renamed in
place (docs/decisions/0025-provisioner-database-roles.md)."""

from __future__ import annotations

from typing import Any

from shipway.provisioner.providers.interface import ProviderContext, ProviderError
from shipway.provisioner.providers.postgres_server import (
    PostgresServer,
    is_superuser,
    marker,
    ordinary_role,
    role_comment,
    set_password,
    sql,
)

Conn = Any  # psycopg.Connection[Any]


def ensure_owner_role(
    ctx: ProviderContext, server: PostgresServer, admin: Conn, role: str, limit: int
) -> None:
    """Create the application's role (or take back one this resource made earlier) with a
    fresh password kept in the secret backend."""
    comment = role_comment(admin, role)
    if comment is not None and comment != marker(ctx):
        raise ProviderError(
            f"role {role!r} already exists and was not created by this resource; "
            "choose another `owner_role`"
        )
    if comment is None:
        admin.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                " NOBYPASSRLS INHERIT CONNECTION LIMIT {}"
            ).format(sql.Identifier(role), sql.Literal(limit))
        )
        admin.execute(
            sql.SQL("COMMENT ON ROLE {} IS {}").format(
                sql.Identifier(role), sql.Literal(marker(ctx))
            )
        )
    if not is_superuser(admin):
        # NOTE: a non-superuser admin (CREATEROLE + CREATEDB) must be a member of the role
        # to hand it the schema (ALTER SCHEMA ... OWNER TO).
        admin.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(role)))
    if comment is None or ctx.read_secret("password") is None:
        # A role taken back (a create resumed, drift repaired) keeps the password the
        # running application has.
        set_password(ctx, server, admin, role)


def grant_database(admin: Conn, database: str, role: str) -> None:
    db = sql.Identifier(database)
    admin.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
    admin.execute(
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, sql.Identifier(role))
    )


def own_schema(conn: Conn, role: str) -> None:
    conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(role)))
    # NOTE: PostgreSQL < 15 lets every role create objects in `public`; 15 no longer does.
    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")


def move_owner(
    ctx: ProviderContext,
    server: PostgresServer,
    admin: Conn,
    database: str,
    old: str,
    new: str,
    limit: int,
) -> None:
    """Make `new` the application's role: rename `old` when this resource made it (the
    SCRAM password survives a rename), else create `new`."""
    old_comment = role_comment(admin, old)
    if old_comment == marker(ctx) and role_comment(admin, new) is None:
        admin.execute(
            sql.SQL("ALTER ROLE {} RENAME TO {}").format(sql.Identifier(old), sql.Identifier(new))
        )
        admin.execute(
            sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(
                sql.Identifier(new), sql.Literal(limit)
            )
        )
        return
    ensure_owner_role(ctx, server, admin, new, limit)
    grant_database(admin, database, new)
    if old != new and ordinary_role(admin, old):
        admin.execute(
            sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(
                sql.Identifier(database), sql.Identifier(old)
            )
        )
