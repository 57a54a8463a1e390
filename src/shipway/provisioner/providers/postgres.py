"""`postgres.database`: a database on any PostgreSQL server, with the login role the
application connects as (docs/decisions/0025-provisioner-database-roles.md).

The database is owned by the admin role of `server`; the application's role owns the
database's `public` schema (and so every table it creates there), may CONNECT and create
TEMPORARY tables, and nothing else: it is not a superuser, cannot create databases or
roles, and no other role may connect (CONNECT is revoked from PUBLIC). Extensions are
created by the admin. What this resource created carries a COMMENT marker
(`managed by shipway: PROJECT/ENV/NAME`): `delete` drops only roles that carry it, and
`create` refuses to take over a role some other resource or person made.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from pydantic import Field, field_validator

from shipway.provisioner.context import secret_reference
from shipway.provisioner.providers.interface import (
    Observed,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderSettings,
)
from shipway.provisioner.providers.postgres_owner import (
    ensure_owner_role,
    grant_database,
    move_owner,
    own_schema,
)
from shipway.provisioner.providers.postgres_server import (
    PostgresServer,
    check_identifier,
    derived_name,
    marker,
    ordinary_role,
    role_comment,
    schema_owner,
    set_password,
    sql,
)

Conn = Any  # psycopg.Connection[Any]; psycopg is an optional extra


class PostgresDatabaseSettings(ProviderSettings):
    """Attributes of a `postgres.database` resource."""

    #: Admin URL of the server, usually a `${secret:...}` reference.
    server: str
    #: Database name; default `PROJECT_ENVIRONMENT_RESOURCE`, sanitised.
    name: str | None = None
    #: The application's login role; default: the database's name.
    owner_role: str | None = None
    extensions: list[str] = Field(default_factory=list)
    #: Connections the database accepts (-1: no limit).
    connection_limit: int = Field(default=-1, ge=-1)
    #: Connections the owner role may hold at once (-1: no limit).
    owner_connection_limit: int = Field(default=-1, ge=-1)
    encoding: str = "UTF8"
    #: LC_COLLATE and LC_CTYPE of the new database; default: the server's.
    locale: str | None = None

    _names = field_validator("name", "owner_role")(check_identifier)

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        return value.upper().replace("UTF-8", "UTF8")

    @field_validator("extensions")
    @classmethod
    def _extensions(cls, value: list[str]) -> list[str]:
        for item in value:
            check_identifier(item)
        return sorted(set(value))


class PostgresDatabaseProvider(Provider):
    type = "postgres.database"
    Settings = PostgresDatabaseSettings
    replace_on = frozenset({"name", "encoding", "locale"})
    rotatable = True

    # --- identity and comparison ---------------------------------------------------

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        # NOTE: the default name needs the project and environment, which only the context
        # knows; without an explicit `name` the manifest name stands in and `read` turns
        # it into the derived name (see `_database`).
        return _s(settings).name or name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        s = _s(settings)
        return {
            "name": s.name,
            "owner_role": s.owner_role,
            "extensions": list(s.extensions),
            "connection_limit": s.connection_limit,
            "owner_connection_limit": s.owner_connection_limit,
            "encoding": s.encoding,
            "locale": s.locale,
        }

    # --- read ------------------------------------------------------------------------

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        return self._read(ctx, _s(settings), resource_id, exact=False)

    def _read(
        self, ctx: ProviderContext, s: PostgresDatabaseSettings, resource_id: str, *, exact: bool
    ) -> Observed | None:
        """The database `resource_id`; unless `exact`, the manifest name standing in for
        a default name is read as the derived name (see `_database`)."""
        server = PostgresServer(ctx, s.server)
        with server.connect("reading the database") as admin:
            database = resource_id if exact else _database(ctx, s, resource_id, admin)
            row = admin.execute(
                "SELECT pg_encoding_to_char(encoding), datcollate, datconnlimit"
                " FROM pg_database WHERE datname = %s",
                [database],
            ).fetchone()
            if row is None:
                return None
            encoding, collate, connlimit = row
        with server.connect(f"reading database {database!r}", database) as conn:
            owner = schema_owner(conn)
            extensions = [
                r[0]
                for r in conn.execute(
                    "SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1"
                )
            ]
            limit = conn.execute(
                "SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", [owner]
            ).fetchone()
        default_owner = s.name or derived_name(ctx)
        attributes = {
            "name": None if s.name is None and database == derived_name(ctx) else database,
            "owner_role": None if s.owner_role is None and owner == default_owner else owner,
            "extensions": extensions,
            "connection_limit": int(connlimit),
            "owner_connection_limit": int(limit[0]) if limit else None,
            "encoding": str(encoding),
            "locale": None if s.locale is None else str(collate),
        }
        return Observed(database, attributes, self._outputs(ctx, server, database, owner))

    def _outputs(
        self, ctx: ProviderContext, server: PostgresServer, database: str, role: str | None
    ) -> dict[str, Any]:
        password = secret_reference(ctx.name, "password")
        address = server.address
        host = f"[{address.host}]" if ":" in address.host else address.host
        return {
            "url": f"postgresql://{quote(role or '', safe='')}:{password}@{host}:{address.port}"
            f"/{quote(database, safe='')}",
            "host": address.host,
            "port": address.port,
            "database": database,
            "user": role,
            "password": password,
        }

    # --- create ----------------------------------------------------------------------

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        s = _s(settings)
        database = s.name or derived_name(ctx)
        role = s.owner_role or database
        server = PostgresServer(ctx, s.server)
        with server.connect(f"creating database {database!r}") as admin:
            comment = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [database],
            ).fetchone()
            if comment is not None and (comment[0] or "") != marker(ctx):
                raise ProviderError(
                    f"database {database!r} already exists and was not created by "
                    "this resource; choose another `name` or adopt it with `provision import`"
                )
            ensure_owner_role(ctx, server, admin, role, s.owner_connection_limit)
            if comment is None:
                options = sql.SQL(" TEMPLATE template0 ENCODING {} CONNECTION LIMIT {}").format(
                    sql.Literal(s.encoding), sql.Literal(s.connection_limit)
                )
                if s.locale is not None:
                    options += sql.SQL(" LC_COLLATE {} LC_CTYPE {}").format(
                        sql.Literal(s.locale), sql.Literal(s.locale)
                    )
                admin.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)) + options
                )
                admin.execute(
                    sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                        sql.Identifier(database), sql.Literal(marker(ctx))
                    )
                )
            grant_database(admin, database, role)
        ctx.check_cancelled()
        with server.connect(f"preparing database {database!r}", database) as conn:
            own_schema(conn, role)
            for extension in s.extensions:
                conn.execute(
                    sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(extension))
                )
        return self._must_read(ctx, s, database)

    def _must_read(
        self, ctx: ProviderContext, settings: PostgresDatabaseSettings, database: str
    ) -> Observed:
        observed = self._read(ctx, settings, database, exact=True)
        if observed is None:
            raise ProviderError(f"database {database!r} vanished while being made")
        return observed

    # --- update ----------------------------------------------------------------------

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        s = _s(settings)
        database = current.resource_id
        server = PostgresServer(ctx, s.server)
        role = s.owner_role or s.name or derived_name(ctx)
        with server.connect(f"changing database {database!r}") as admin:
            if "connection_limit" in changes:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(
                        sql.Identifier(database), sql.Literal(s.connection_limit)
                    )
                )
            if "owner_role" in changes:
                old = changes["owner_role"][0] or s.name or derived_name(ctx)
                move_owner(ctx, server, admin, database, old, role, s.owner_connection_limit)
            elif "owner_connection_limit" in changes:
                admin.execute(
                    sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(
                        sql.Identifier(role), sql.Literal(s.owner_connection_limit)
                    )
                )
        if "extensions" in changes or "owner_role" in changes:
            with server.connect(f"changing database {database!r}", database) as conn:
                if "owner_role" in changes:
                    own_schema(conn, role)
                have = set(current.attributes.get("extensions") or [])
                for extension in sorted(set(s.extensions) - have):
                    conn.execute(
                        sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                            sql.Identifier(extension)
                        )
                    )
                for extension in sorted(have - set(s.extensions)):
                    conn.execute(
                        sql.SQL("DROP EXTENSION IF EXISTS {}").format(sql.Identifier(extension))
                    )
        return self._must_read(ctx, s, database)

    # --- delete ----------------------------------------------------------------------

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        s = _s(settings)
        database = current.resource_id
        server = PostgresServer(ctx, s.server)
        with server.connect(f"dropping database {database!r}") as admin:
            _drop_database(ctx, admin, database)
            for (role,) in admin.execute(
                "SELECT rolname FROM pg_roles WHERE shobj_description(oid, 'pg_authid') = %s",
                [marker(ctx)],
            ).fetchall():
                if ordinary_role(admin, role):
                    admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        ctx.delete_secrets()

    # --- rotate and adopt ------------------------------------------------------------

    def rotate(
        self, ctx: ProviderContext, settings: ProviderSettings, current: Observed
    ) -> Observed:
        s = _s(settings)
        database = current.resource_id
        server = PostgresServer(ctx, s.server)
        with server.connect(f"reading database {database!r}", database) as conn:
            role = schema_owner(conn)
        if role is None:
            raise ProviderError(f"database {database!r} has no owner role to rotate")
        with server.connect(f"rotating the password of role {role!r}") as admin:
            set_password(ctx, server, admin, role)
        return self._must_read(ctx, s, database)

    def adopt(self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str) -> Observed:
        # NOTE: shipway cannot learn an existing password, and changing it would cut off
        # the running application; `provision rotate` (or `secrets set
        # resources/NAME/password`) gives the output's reference a value.
        s = _s(settings)
        observed = self._read(ctx, s, resource_id, exact=True)
        if observed is None:
            raise ProviderError(f"database {resource_id!r} does not exist")
        server = PostgresServer(ctx, s.server)
        role = observed.outputs["user"]
        with server.connect(f"adopting database {resource_id!r}") as admin:
            row = admin.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
                [resource_id],
            ).fetchone()
            _claim(ctx, row[0] if row else None, f"database {resource_id!r}")
            admin.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(resource_id), sql.Literal(marker(ctx))
                )
            )
            comment = role_comment(admin, role) if role else None
            if comment is not None and ordinary_role(admin, role):
                _claim(ctx, comment, f"role {role!r}")
                admin.execute(
                    sql.SQL("COMMENT ON ROLE {} IS {}").format(
                        sql.Identifier(role), sql.Literal(marker(ctx))
                    )
                )
        return observed


def _s(settings: ProviderSettings) -> PostgresDatabaseSettings:
    assert isinstance(settings, PostgresDatabaseSettings)
    return settings


def _database(
    ctx: ProviderContext, settings: PostgresDatabaseSettings, resource_id: str, admin: Conn
) -> str:
    """The database `read` looks at: `resource_id`, except the manifest name standing in
    for a default name not derived yet (`resource_id` had no context)."""
    if settings.name is not None or resource_id != ctx.name:
        return resource_id
    derived = derived_name(ctx)
    found = admin.execute(
        "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database"
        " WHERE datname = ANY(%s)",
        [[derived, resource_id]],
    ).fetchall()
    names = {name: comment for name, comment in found}
    if derived not in names and names.get(resource_id) == marker(ctx):
        return resource_id  # recorded under an explicit name equal to the resource's
    return derived


def _claim(ctx: ProviderContext, comment: str | None, what: str) -> None:
    if comment and comment.startswith("managed by shipway: ") and comment != marker(ctx):
        raise ProviderError(f"{what} belongs to another resource ({comment})")


def _drop_database(ctx: ProviderContext, admin: Conn, database: str) -> None:
    """Disconnect every session of `database` (within the timeout), then drop it."""
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
    if exists is None:
        return
    admin.execute(sql.SQL("ALTER DATABASE {} CONNECTION LIMIT 0").format(sql.Identifier(database)))
    deadline = time.monotonic() + ctx.timeout
    while True:
        left = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        ).fetchone()
        if not left or not left[0] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    force = sql.SQL(" WITH (FORCE)") if admin.info.server_version >= 130000 else sql.SQL("")
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)) + force)
