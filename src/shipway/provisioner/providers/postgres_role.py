"""`postgres.role`: a standalone PostgreSQL role (a reporting user, a migration user)
with a declarative list of grants (docs/decisions/0025-provisioner-database-roles.md).

Grants, one entry per database or schema:

    grants:
      - {database: notes_prod_db, privileges: [connect]}
      - {database: notes_prod_db, schema: public, tables: [select]}

A database entry grants `connect`, `temporary` or `create` on the database; a schema entry
grants `usage`/`create` on the schema (`usage` is implied by `tables`) and `tables`
privileges on every table and view in it, now and later (default
privileges of the schema's owner, which for a `postgres.database` is the application's
role). `read` rebuilds the list from the catalogs (aclexplode of pg_database,
pg_namespace, pg_class and pg_default_acl), so a grant changed by hand shows as drift.
"""

from __future__ import annotations

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
from shipway.provisioner.providers.postgres_grants import (
    Grants,
    PostgresGrant,
    change_schema,
    database_grants,
    delta,
    grant_list,
    grant_map,
    schema_grants,
)
from shipway.provisioner.providers.postgres_server import (
    PostgresServer,
    check_identifier,
    derived_name,
    marker,
    ordinary_role,
    role_comment,
    set_password,
    sql,
)

Conn = Any  # psycopg.Connection[Any]


class PostgresRoleSettings(ProviderSettings):
    """Attributes of a `postgres.role` resource."""

    server: str
    #: Role name; default `PROJECT_ENVIRONMENT_RESOURCE`, sanitised.
    name: str | None = None
    #: Whether the role may log in (then it gets a generated password).
    login: bool = True
    connection_limit: int = Field(default=-1, ge=-1)
    grants: list[PostgresGrant] = Field(default_factory=list)

    _name = field_validator("name")(check_identifier)


class PostgresRoleProvider(Provider):
    type = "postgres.role"
    Settings = PostgresRoleSettings
    replace_on = frozenset({"name"})
    rotatable = True

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        # NOTE: the default name needs the context; see PostgresDatabaseProvider.
        return _s(settings).name or name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        s = _s(settings)
        wanted: Grants = {}
        for grant in s.grants:
            privileges, tables = wanted.setdefault(
                (grant.database, grant.schema_name), (set(), set())
            )
            privileges.update(grant.privileges)
            tables.update(grant.tables)
            if grant.tables:
                privileges.add("usage")
        return {
            "name": s.name,
            "login": s.login,
            "connection_limit": s.connection_limit,
            "grants": grant_list(wanted),
        }

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        s = _s(settings)
        if s.name is None and resource_id == ctx.name:
            return self._read(ctx, s, derived_name(ctx))
        return self._read(ctx, s, resource_id)

    def _read(self, ctx: ProviderContext, s: PostgresRoleSettings, role: str) -> Observed | None:
        server = PostgresServer(ctx, s.server)
        with server.connect(f"reading role {role!r}") as admin:
            row = admin.execute(
                "SELECT oid, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = %s", [role]
            ).fetchone()
            if row is None:
                return None
            oid, login, limit = row
            grants = database_grants(admin, oid)
            existing = {
                r[0]
                for r in admin.execute(
                    "SELECT datname FROM pg_database WHERE datallowconn AND datname = ANY(%s)",
                    [sorted({g.database for g in s.grants} | {db for db, _ in grants})],
                )
            }
        wanted_schemas = {(g.database, g.schema_name) for g in s.grants if g.schema_name}
        for database in sorted(existing):
            with server.connect(f"reading the grants of role {role!r}", database) as conn:
                schemas = {name for db, name in wanted_schemas if db == database}
                grants.update(schema_grants(conn, database, oid, schemas))
        attributes = {
            "name": None if s.name is None and role == derived_name(ctx) else role,
            "login": bool(login),
            "connection_limit": int(limit),
            "grants": grant_list(grants),
        }
        return Observed(role, attributes, self._outputs(ctx, server, role, s))

    def _outputs(
        self, ctx: ProviderContext, server: PostgresServer, role: str, s: PostgresRoleSettings
    ) -> dict[str, Any]:
        address = server.address
        outputs: dict[str, Any] = {"user": role, "host": address.host, "port": address.port}
        if s.login:
            password = secret_reference(ctx.name, "password")
            database = s.grants[0].database if s.grants else address.database
            host = f"[{address.host}]" if ":" in address.host else address.host
            outputs["password"] = password
            outputs["url"] = (
                f"postgresql://{quote(role, safe='')}:{password}@{host}:{address.port}"
                f"/{quote(database, safe='')}"
            )
        return outputs

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        s = _s(settings)
        role = s.name or derived_name(ctx)
        server = PostgresServer(ctx, s.server)
        with server.connect(f"creating role {role!r}") as admin:
            comment = role_comment(admin, role)
            if comment is not None and comment != marker(ctx):
                raise ProviderError(
                    f"role {role!r} already exists and was not created by this "
                    "resource; choose another `name` or adopt it with `provision import`"
                )
            if comment is None:
                admin.execute(
                    sql.SQL(
                        "CREATE ROLE {} NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
                        " NOBYPASSRLS INHERIT"
                    ).format(sql.Identifier(role))
                )
                admin.execute(
                    sql.SQL("COMMENT ON ROLE {} IS {}").format(
                        sql.Identifier(role), sql.Literal(marker(ctx))
                    )
                )
            _alter_role(admin, role, s)
            if s.login:
                set_password(ctx, server, admin, role)
        self._apply_grants(ctx, server, role, self.desired(s)["grants"], [])
        return self._must_read(ctx, s, role)

    def _must_read(self, ctx: ProviderContext, s: PostgresRoleSettings, role: str) -> Observed:
        observed = self._read(ctx, s, role)
        if observed is None:
            raise ProviderError(f"role {role!r} vanished while being made")
        return observed

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        s = _s(settings)
        role = current.resource_id
        server = PostgresServer(ctx, s.server)
        if "login" in changes or "connection_limit" in changes:
            with server.connect(f"changing role {role!r}") as admin:
                _alter_role(admin, role, s)
                if s.login and ctx.read_secret("password") is None:
                    set_password(ctx, server, admin, role)
        if "grants" in changes:
            have = current.attributes.get("grants") or []
            self._apply_grants(ctx, server, role, self.desired(s)["grants"], have)
        return self._must_read(ctx, s, role)

    def _apply_grants(
        self,
        ctx: ProviderContext,
        server: PostgresServer,
        role: str,
        wanted_list: list[dict[str, Any]],
        have_list: list[dict[str, Any]],
    ) -> None:
        wanted, have = grant_map(wanted_list), grant_map(have_list)
        who = sql.Identifier(role)
        keys = sorted(set(wanted) | set(have), key=lambda k: (k[0], k[1] or ""))
        for database in sorted({db for db, schema in keys if schema is None}):
            add, drop = delta(wanted, have, (database, None))
            with server.connect(f"granting on database {database!r} to {role!r}") as admin:
                target = sql.Identifier(database)
                for privilege in sorted(add[0]):
                    admin.execute(
                        sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                            sql.SQL(privilege.upper()), target, who
                        )
                    )
                for privilege in sorted(drop[0]):
                    admin.execute(
                        sql.SQL("REVOKE {} ON DATABASE {} FROM {}").format(
                            sql.SQL(privilege.upper()), target, who
                        )
                    )
        for database in sorted({db for db, schema in keys if schema is not None}):
            ctx.check_cancelled()
            with server.connect(f"granting in database {database!r} to {role!r}", database) as conn:
                for key in keys:
                    if key[0] == database and key[1] is not None:
                        add, drop = delta(wanted, have, key)
                        change_schema(conn, key[1], who, add, drop)

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        s = _s(settings)
        role = current.resource_id
        server = PostgresServer(ctx, s.server)
        databases = {g["database"] for g in current.attributes.get("grants") or []}
        databases |= {g.database for g in s.grants}
        with server.connect(f"dropping role {role!r}") as admin:
            if role_comment(admin, role) is None or not ordinary_role(admin, role):
                ctx.delete_secrets()
                return
            found = admin.execute(
                "SELECT datname FROM pg_database WHERE datallowconn AND datname = ANY(%s)",
                [sorted(databases)],
            ).fetchall()
        for (database,) in found:
            with server.connect(f"revoking the grants of role {role!r}", database) as conn:
                # Objects the role made are kept (given to the admin); its grants go.
                conn.execute(
                    sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(sql.Identifier(role))
                )
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with server.connect(f"dropping role {role!r}") as admin:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        ctx.delete_secrets()

    def rotate(
        self, ctx: ProviderContext, settings: ProviderSettings, current: Observed
    ) -> Observed:
        s = _s(settings)
        if not s.login:
            raise ProviderError(f"role {current.resource_id!r} cannot log in")
        server = PostgresServer(ctx, s.server)
        with server.connect(f"rotating the password of role {current.resource_id!r}") as admin:
            set_password(ctx, server, admin, current.resource_id)
        return self._must_read(ctx, s, current.resource_id)

    def adopt(self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str) -> Observed:
        # NOTE: the password is left alone (see PostgresDatabaseProvider.adopt).
        observed = self._read(ctx, _s(settings), resource_id)
        if observed is None:
            raise ProviderError(f"role {resource_id!r} does not exist")
        server = PostgresServer(ctx, _s(settings).server)
        with server.connect(f"adopting role {resource_id!r}") as admin:
            if not ordinary_role(admin, resource_id):
                raise ProviderError(
                    f"role {resource_id!r} is a superuser, a built-in role or the admin itself;"
                    " shipway manages only ordinary roles"
                )
            comment = role_comment(admin, resource_id) or ""
            if comment.startswith("managed by shipway: ") and comment != marker(ctx):
                raise ProviderError(f"role {resource_id!r} belongs to {comment}")
            admin.execute(
                sql.SQL("COMMENT ON ROLE {} IS {}").format(
                    sql.Identifier(resource_id), sql.Literal(marker(ctx))
                )
            )
        return observed


def _s(settings: ProviderSettings) -> PostgresRoleSettings:
    assert isinstance(settings, PostgresRoleSettings)
    return settings


def _alter_role(admin: Conn, role: str, s: PostgresRoleSettings) -> None:
    admin.execute(
        sql.SQL("ALTER ROLE {} {} CONNECTION LIMIT {}").format(
            sql.Identifier(role),
            sql.SQL("LOGIN" if s.login else "NOLOGIN"),
            sql.Literal(s.connection_limit),
        )
    )
