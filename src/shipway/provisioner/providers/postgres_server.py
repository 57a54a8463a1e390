"""What the PostgreSQL providers share: one admin connection to a server, its errors,
generated passwords, default names and the ownership marker.

psycopg is the optional extra `postgres`; the registry imports this module only when a
manifest has a PostgreSQL resource, and a missing psycopg is a ProviderError then. Every
psycopg error becomes a `ProviderError` carrying the server's own message and what was
being done, with any revealed secret (the admin URL, a password) scrubbed from it.

Passwords are generated URL-safe (`secrets.token_urlsafe`), so they sit in a URL's
userinfo without escaping, and are sent to the server as a SCRAM-SHA-256 verifier computed
on this side (as `psql \\password` does): the plain password never travels in a statement
that the server could log.
"""

from __future__ import annotations

import contextlib
import math
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from shipway.provisioner.providers.interface import ProviderContext, ProviderError

try:
    import psycopg
    from psycopg import conninfo
    from psycopg import sql as sql  # re-exported for the providers
except ImportError as e:  # pragma: no cover - the test environment has the extra
    raise ProviderError(
        "the PostgreSQL providers need psycopg: pip install 'shipway[postgres]'"
    ) from e

#: Longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes).
MAX_IDENTIFIER = 63
#: Start of the COMMENT shipway puts on the databases and roles it created.
MARKER_PREFIX = "managed by shipway: "

_UNSAFE = re.compile(r"[^a-z0-9_]+")


def new_password() -> SecretStr:
    """A fresh 256-bit password made only of URL-safe characters."""
    return SecretStr(secrets.token_urlsafe(32))


def derived_name(ctx: ProviderContext) -> str:
    """The default database/role name: `PROJECT_ENVIRONMENT_RESOURCE`, lowercased, every
    run of other characters made `_`; cut to 63 bytes with a short hash when longer."""
    return sanitise(f"{ctx.project}_{ctx.environment}_{ctx.name}")


def sanitise(text: str) -> str:
    name = _UNSAFE.sub("_", text.lower()).strip("_") or "shipway"
    if name[0].isdigit():
        name = "_" + name
    if len(name) > MAX_IDENTIFIER:
        import hashlib

        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = name[: MAX_IDENTIFIER - 9].rstrip("_") + "_" + digest
    return name


def marker(ctx: ProviderContext) -> str:
    """The COMMENT that says which resource created a database or role."""
    return f"{MARKER_PREFIX}{ctx.project}/{ctx.environment}/{ctx.name}"


def check_identifier(value: str | None) -> str | None:
    """A pydantic validator body for database and role names."""
    if value is None:
        return None
    if not value or len(value.encode()) > MAX_IDENTIFIER or "\x00" in value:
        raise ValueError(f"must be 1 to {MAX_IDENTIFIER} bytes")
    return value


@dataclass(frozen=True)
class ServerAddress:
    """Where the server is, for outputs: nothing secret."""

    host: str
    port: int
    database: str


class PostgresServer:
    """Admin connections to one server, opened from the (revealed) `server` attribute."""

    def __init__(self, ctx: ProviderContext, server: str) -> None:
        self.ctx = ctx
        self._url = ctx.reveal(server)
        self.address = self._address()

    def _address(self) -> ServerAddress:
        try:
            params = conninfo.conninfo_to_dict(self._url)
        except psycopg.Error as e:
            raise ProviderError(self.scrub(f"invalid server URL: {e}")) from e
        host = str(params.get("host") or params.get("hostaddr") or "localhost").split(",")[0]
        port = int(str(params.get("port") or 5432).split(",")[0])
        return ServerAddress(host, port, str(params.get("dbname") or "postgres"))

    def scrub(self, text: str, *extra: str) -> str:
        """`text` with the admin URL, its password and `extra` values blanked out."""
        secrets_seen = [self._url, *extra]
        with contextlib.suppress(Exception):
            password = conninfo.conninfo_to_dict(self._url).get("password")
            if password:
                secrets_seen.append(str(password))
        for value in sorted(secrets_seen, key=len, reverse=True):
            if value:
                text = text.replace(value, "***")
        return text

    @contextlib.contextmanager
    def connect(self, doing: str, database: str | None = None) -> Iterator[psycopg.Connection[Any]]:
        """An autocommit admin connection (to `database`, else the URL's); errors while
        connecting or inside the block become ProviderError "DOING: server message"."""
        ms = max(int(self.ctx.timeout * 1000), 1)
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(math.ceil(self.ctx.timeout), 1),
            "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
            # NOTE: statement_timeout is enforced by the server; a silent network needs
            # the client's own bound on unacknowledged data.
            "tcp_user_timeout": ms,
        }
        if database is not None:
            kwargs["dbname"] = database
        with self.errors(doing):
            conn = psycopg.connect(self._url, **kwargs)
        try:
            with self.errors(doing):
                yield conn
        finally:
            conn.close()

    @contextlib.contextmanager
    def errors(self, doing: str, *extra: str) -> Iterator[None]:
        """Turn psycopg errors raised in the block into ProviderError."""
        try:
            yield
        except psycopg.Error as e:
            message = str(e).strip() or type(e).__name__
            raise ProviderError(self.scrub(f"{doing}: {message}", *extra)) from None

    def verifier(self, conn: psycopg.Connection[Any], role: str, password: SecretStr) -> str:
        """The SCRAM-SHA-256 verifier of `password` for `role`, computed here."""
        raw = conn.pgconn.encrypt_password(
            password.get_secret_value().encode(), role.encode(), b"scram-sha-256"
        )
        return bytes(raw).decode()


def is_superuser(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def schema_owner(conn: psycopg.Connection[Any], schema: str = "public") -> str | None:
    """The role that owns `schema` in the connected database. PostgreSQL 15 makes
    `public` belong to the pseudo-role `pg_database_owner`: then the database's owner."""
    row = conn.execute(
        "SELECT CASE WHEN r.rolname = 'pg_database_owner' THEN o.rolname ELSE r.rolname END"
        " FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner"
        " JOIN pg_database d ON d.datname = current_database()"
        " JOIN pg_roles o ON o.oid = d.datdba"
        " WHERE n.nspname = %s",
        [schema],
    ).fetchone()
    return None if row is None else str(row[0])


def ordinary_role(conn: psycopg.Connection[Any], role: str) -> bool:
    """Whether `role` is an application's role shipway may mark and drop: not a
    superuser, not a built-in `pg_*` role, not the admin shipway connects as."""
    row = conn.execute(
        "SELECT NOT rolsuper AND rolname NOT LIKE 'pg\\_%%' AND rolname <> current_user"
        " FROM pg_roles WHERE rolname = %s",
        [role],
    ).fetchone()
    return bool(row and row[0])


def role_comment(conn: psycopg.Connection[Any], role: str) -> str | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = %s", [role]
    ).fetchone()
    return None if row is None else (row[0] or "")


def set_password(
    ctx: ProviderContext, server: PostgresServer, admin: psycopg.Connection[Any], role: str
) -> None:
    """Give `role` a new generated password and keep it in the secret backend."""
    password = new_password()
    secret = password.get_secret_value()
    with server.errors(f"setting the password of role {role!r}", secret):
        admin.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(server.verifier(admin, role, password))
            )
        )
    ctx.store_secret("password", password)
