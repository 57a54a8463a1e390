"""The grants of a `postgres.role`: the `grants` attribute's model, its canonical form,
reading it back from the catalogs and changing it
(docs/decisions/0025-provisioner-database-roles.md).

Read-back uses aclexplode over pg_database, pg_namespace, pg_class and pg_default_acl and
counts direct grants only (not PUBLIC's, not inherited memberships). The table privileges
of a schema are those held on every table and view in it *and* in the default privileges
of the schema's owner, so one table revoked by hand shows as drift.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shipway.provisioner.providers.interface import ProviderError
from shipway.provisioner.providers.postgres_server import check_identifier, schema_owner, sql

Conn = Any  # psycopg.Connection[Any]

DATABASE_PRIVILEGES = frozenset({"connect", "temporary", "create"})
SCHEMA_PRIVILEGES = frozenset({"usage", "create"})
TABLE_PRIVILEGES = frozenset(
    {"select", "insert", "update", "delete", "truncate", "references", "trigger"}
)

_ALIASES = {"temp": "temporary"}

#: (database, schema or None) -> (privileges, table privileges)
Grants = dict[tuple[str, str | None], tuple[set[str], set[str]]]


class PostgresGrant(BaseModel):
    """One entry of `grants`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    database: str
    schema_name: str | None = Field(default=None, alias="schema")
    privileges: list[str] = Field(default_factory=list)
    tables: list[str] = Field(default_factory=list)

    @field_validator("privileges", "tables")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return sorted({_ALIASES.get(v.lower(), v.lower()) for v in value})

    @model_validator(mode="after")
    def _known(self) -> PostgresGrant:
        check_identifier(self.database)
        check_identifier(self.schema_name)
        allowed = DATABASE_PRIVILEGES if self.schema_name is None else SCHEMA_PRIVILEGES
        level = "database" if self.schema_name is None else "schema"
        for privilege in self.privileges:
            if privilege not in allowed:
                raise ValueError(
                    f"{privilege!r} is not a {level} privilege (use {', '.join(sorted(allowed))})"
                )
        if self.tables and self.schema_name is None:
            raise ValueError("`tables` needs a `schema`")
        for privilege in self.tables:
            if privilege not in TABLE_PRIVILEGES:
                raise ValueError(
                    f"{privilege!r} is not a table privilege "
                    f"(use {', '.join(sorted(TABLE_PRIVILEGES))})"
                )
        return self


def grant_list(grants: Grants) -> list[dict[str, Any]]:
    """The canonical `grants` attribute: one entry per database/schema, sorted, empty
    entries left out."""
    out: list[dict[str, Any]] = []
    for (database, schema), (privileges, tables) in sorted(
        grants.items(), key=lambda item: (item[0][0], item[0][1] or "")
    ):
        if not privileges and not tables:
            continue
        if schema is None:
            out.append({"database": database, "privileges": sorted(privileges)})
        else:
            out.append(
                {
                    "database": database,
                    "schema": schema,
                    "privileges": sorted(privileges),
                    "tables": sorted(tables),
                }
            )
    return out


def grant_map(entries: list[dict[str, Any]]) -> Grants:
    return {
        (e["database"], e.get("schema")): (set(e.get("privileges", [])), set(e.get("tables", [])))
        for e in entries
    }


def delta(
    wanted: Grants, have: Grants, key: tuple[str, str | None]
) -> tuple[tuple[set[str], set[str]], tuple[set[str], set[str]]]:
    w = wanted.get(key, (set(), set()))
    h = have.get(key, (set(), set()))
    return (w[0] - h[0], w[1] - h[1]), (h[0] - w[0], h[1] - w[1])


def change_schema(
    conn: Conn,
    schema: str,
    who: sql.Identifier,
    add: tuple[set[str], set[str]],
    drop: tuple[set[str], set[str]],
) -> None:
    target = sql.Identifier(schema)
    found = schema_owner(conn, schema)
    if found is None:
        raise ProviderError(f"schema {schema!r} does not exist in this database")
    owner = sql.Identifier(found)
    for privilege in sorted(add[0]):
        conn.execute(
            sql.SQL("GRANT {} ON SCHEMA {} TO {}").format(sql.SQL(privilege.upper()), target, who)
        )
    if add[1]:
        privileges = sql.SQL(", ").join(sql.SQL(p.upper()) for p in sorted(add[1]))
        conn.execute(
            sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA {} TO {}").format(privileges, target, who)
        )
        conn.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT {} ON TABLES TO {}"
            ).format(owner, target, privileges, who)
        )
    if drop[1]:
        privileges = sql.SQL(", ").join(sql.SQL(p.upper()) for p in sorted(drop[1]))
        conn.execute(
            sql.SQL("REVOKE {} ON ALL TABLES IN SCHEMA {} FROM {}").format(privileges, target, who)
        )
        conn.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} REVOKE {} ON TABLES FROM {}"
            ).format(owner, target, privileges, who)
        )
    for privilege in sorted(drop[0]):
        conn.execute(
            sql.SQL("REVOKE {} ON SCHEMA {} FROM {}").format(
                sql.SQL(privilege.upper()), target, who
            )
        )


def database_grants(admin: Conn, oid: int) -> Grants:
    grants: Grants = {}
    for database, privilege in admin.execute(
        "SELECT d.datname, a.privilege_type FROM pg_database d, aclexplode(d.datacl) a"
        " WHERE a.grantee = %s",
        [oid],
    ):
        if str(privilege).lower() in DATABASE_PRIVILEGES:
            grants.setdefault((database, None), (set(), set()))[0].add(str(privilege).lower())
    return grants


def schema_grants(conn: Conn, database: str, oid: int, schemas: set[str]) -> Grants:
    """Schema privileges, and table privileges held on every table of a schema and in its
    owner's default privileges, of role `oid` in the connected database."""
    grants: Grants = {}
    for schema, privilege in conn.execute(
        "SELECT n.nspname, a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a"
        " WHERE a.grantee = %s",
        [oid],
    ):
        if str(privilege).lower() in SCHEMA_PRIVILEGES:
            grants.setdefault((database, schema), (set(), set()))[0].add(str(privilege).lower())
    candidates = set(schemas) | {schema for _, schema in grants if schema}
    candidates |= {
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT n.nspname FROM pg_default_acl d"
            " JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a"
            " WHERE a.grantee = %s",
            [oid],
        )
    }
    for schema in sorted(candidates):
        held = _table_privileges(conn, schema, oid)
        if held:
            grants.setdefault((database, schema), (set(), set()))[1].update(held)
    return grants


def _table_privileges(conn: Conn, schema: str, oid: int) -> set[str]:
    rows = conn.execute(
        "SELECT ARRAY(SELECT a.privilege_type FROM aclexplode(c.relacl) a WHERE a.grantee = %s)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        [oid, schema],
    ).fetchall()
    default = conn.execute(
        "SELECT ARRAY(SELECT a.privilege_type FROM aclexplode(d.defaclacl) a"
        " WHERE a.grantee = %s)"
        " FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace"
        " WHERE n.nspname = %s AND d.defaclrole = n.nspowner AND d.defaclobjtype = 'r'",
        [oid, schema],
    ).fetchone()
    held = {p.lower() for p in default[0]} if default else set()
    for (privileges,) in rows:
        held &= {p.lower() for p in privileges}
    return held & TABLE_PRIVILEGES
