"""`redis.acl_user`: a Redis ACL user confined to one key prefix
(docs/decisions/0025-provisioner-database-roles.md).

The user may run the `commands` rules (by default reading and writing data, transactions
and what a client needs to connect, never a `@dangerous` command such as FLUSHALL, KEYS
or CONFIG, nor SCAN/RANDOMKEY, which ignore key patterns and would list other
applications' key names) on keys matching `KEY_PREFIX*`, and on no Pub/Sub channel
unless `channels` names some. The password is generated here and sent only as its
SHA-256 (`#hash`), so the plain value never appears in a command the server could log.

Redis rewrites command rules into its own canonical form (7.0 expands categories), so
`read` compares the user's rules with the form the server gives the desired rules on a
throwaway, disabled probe user, and reports the desired list when they match.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from shipway.provisioner.context import secret_reference
from shipway.provisioner.providers.interface import (
    Observed,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderSettings,
)

try:
    import redis as redis_client
except ImportError as e:  # pragma: no cover - the test environment has the extra
    raise ProviderError("the Redis provider needs redis-py: pip install 'shipway[redis]'") from e

#: Data commands, transactions and connection commands; nothing dangerous, nothing that
#: lists keys outside the prefix, no server-wide function library changes.
DEFAULT_COMMANDS = (
    "+@read",
    "+@write",
    "+@keyspace",
    "+@connection",
    "+@transaction",
    "-@dangerous",
    "-scan",
    "-randomkey",
    "-function",
)

_RULE = re.compile(r"[+-]@?[a-z0-9_|-]+")
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_GLOB = re.compile(r"[*?\[\]\\\s]")
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


class RedisAclUserSettings(ProviderSettings):
    """Attributes of a `redis.acl_user` resource."""

    #: Server URL (`redis://HOST:PORT/DB`, `rediss://...`), may be a `${secret:...}`.
    server: str
    #: ACL user name; default `PROJECT-ENVIRONMENT-RESOURCE`, sanitised.
    username: str | None = None
    #: Every key the user may touch starts with this.
    key_prefix: str
    #: ACL command rules, applied in order after `-@all`.
    commands: list[str] = Field(default_factory=lambda: list(DEFAULT_COMMANDS))
    #: Pub/Sub channel patterns the user may use; none by default.
    channels: list[str] = Field(default_factory=list)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.fullmatch(value):
            raise ValueError("use 1 to 128 letters, digits, '_', '.' or '-'")
        return value

    @field_validator("key_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or _GLOB.search(value):
            raise ValueError("must be non-empty, without spaces or * ? [ ] \\")
        return value

    @field_validator("commands", mode="before")
    @classmethod
    def _commands(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split()
        if isinstance(value, list):
            rules = [str(rule).lower() for rule in value]
            bad = [rule for rule in rules if not _RULE.fullmatch(rule)]
            if bad:
                raise ValueError(
                    f"{bad[0]!r} is not a command rule: use +command, -command, +@category, "
                    "-@category or +command|subcommand"
                )
            return rules
        return value

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: list[str]) -> list[str]:
        if any(not channel or re.search(r"\s", channel) for channel in value):
            raise ValueError("channel patterns must be non-empty, without spaces")
        return sorted(set(value))


class RedisAclUserProvider(Provider):
    type = "redis.acl_user"
    Settings = RedisAclUserSettings
    replace_on = frozenset({"username"})
    rotatable = True

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        # NOTE: as for postgres.database, the default name needs the context; `read`
        # turns the manifest name standing in for it into the derived name.
        return _s(settings).username or name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        s = _s(settings)
        return {
            "username": s.username,
            "key_prefix": s.key_prefix,
            "commands": list(s.commands),
            "channels": list(s.channels),
        }

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        s = _s(settings)
        if s.username is None and resource_id == ctx.name:
            return self._read(ctx, s, derived_username(ctx))
        return self._read(ctx, s, resource_id)

    def adopt(self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str) -> Observed:
        # NOTE: the password is left alone (see PostgresDatabaseProvider.adopt).
        observed = self._read(ctx, _s(settings), resource_id)
        if observed is None:
            raise ProviderError(f"ACL user {resource_id!r} does not exist")
        return observed

    def _read(
        self, ctx: ProviderContext, s: RedisAclUserSettings, username: str
    ) -> Observed | None:
        server = RedisServer(ctx, s.server)
        with server.client(f"reading ACL user {username!r}") as client:
            user = _getuser(client, username)
            if user is None:
                return None
            keys = _text(user.get("keys"))
            match = re.fullmatch(r"~([^\s*?\[\]\\]+)\*", keys)
            observed_commands = _observed_commands(
                s.commands, _text(user.get("commands")), _canonical(client, s.commands)
            )
        channels = sorted(c.removeprefix("&") for c in _text(user.get("channels")).split())
        flags = [str(flag) for flag in user.get("flags") or []]
        attributes = {
            "username": None
            if s.username is None and username == derived_username(ctx)
            else username,
            "key_prefix": match.group(1) if match else keys,
            "commands": observed_commands if "on" in flags else ["(user is off)"],
            "channels": channels,
        }
        return Observed(username, attributes, server.outputs(ctx, username, s.key_prefix))

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        s = _s(settings)
        username = s.username or derived_username(ctx)
        server = RedisServer(ctx, s.server)
        password = SecretStr(secrets.token_urlsafe(32))
        # NOTE: stored first: a create cut short after SETUSER would leave a user whose
        # password nobody knows, and the next plan would see nothing to create.
        ctx.store_secret("password", password)
        with server.client(f"creating ACL user {username!r}") as client:
            client.execute_command(
                "ACL", "SETUSER", username, "reset", _password_rule(password), *_rules(s)
            )
            _save(client)
        return self._must_read(ctx, s, username)

    def _must_read(
        self, ctx: ProviderContext, settings: RedisAclUserSettings, username: str
    ) -> Observed:
        observed = self._read(ctx, settings, username)
        if observed is None:
            raise ProviderError(f"ACL user {username!r} vanished while being made")
        return observed

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        s = _s(settings)
        username = current.resource_id
        server = RedisServer(ctx, s.server)
        with server.client(f"changing ACL user {username!r}") as client:
            # Everything but the passwords is set again, in the order `create` uses.
            client.execute_command("ACL", "SETUSER", username, *_rules(s))
            _save(client)
        return self._must_read(ctx, s, username)

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        s = _s(settings)
        server = RedisServer(ctx, s.server)
        with server.client(f"deleting ACL user {current.resource_id!r}") as client:
            client.execute_command("ACL", "DELUSER", current.resource_id)
            _save(client)
        ctx.delete_secrets()

    def rotate(
        self, ctx: ProviderContext, settings: ProviderSettings, current: Observed
    ) -> Observed:
        s = _s(settings)
        username = current.resource_id
        server = RedisServer(ctx, s.server)
        password = SecretStr(secrets.token_urlsafe(32))
        with server.client(f"rotating the password of ACL user {username!r}") as client:
            if _getuser(client, username) is None:
                raise ProviderError(f"ACL user {username!r} does not exist")
            client.execute_command(
                "ACL", "SETUSER", username, "resetpass", _password_rule(password)
            )
            _save(client)
        ctx.store_secret("password", password)
        return self._must_read(ctx, s, username)


class RedisServer:
    """Admin connections to one Redis server, from the (revealed) `server` attribute."""

    def __init__(self, ctx: ProviderContext, server: str) -> None:
        self.ctx = ctx
        self._url = ctx.reveal(server)
        parts = urlsplit(self._url)
        if parts.scheme not in {"redis", "rediss"}:
            raise ProviderError("`server` must be a redis:// or rediss:// URL")
        try:
            port = parts.port or 6379
        except ValueError:
            raise ProviderError("invalid server URL: bad port") from None
        self.scheme, self.host, self.port = parts.scheme, parts.hostname or "localhost", port
        self.db = parts.path.strip("/") or "0"
        self._secrets = [s for s in (self._url, parts.password) if s]

    @contextlib.contextmanager
    def client(self, doing: str) -> Iterator[Any]:
        """A client with timeouts; redis errors in the block become ProviderError."""
        try:
            client = redis_client.Redis.from_url(
                self._url,
                socket_timeout=self.ctx.timeout,
                socket_connect_timeout=self.ctx.timeout,
                decode_responses=True,
            )
        except (ValueError, redis_client.RedisError) as e:
            raise ProviderError(self._scrub(f"invalid server URL: {e}")) from None
        try:
            yield client
        except redis_client.RedisError as e:
            message = str(e).strip() or type(e).__name__
            raise ProviderError(self._scrub(f"{doing}: {message}")) from None
        finally:
            client.close()

    def _scrub(self, text: str) -> str:
        for value in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(value, "***")
        return text

    def outputs(self, ctx: ProviderContext, username: str, key_prefix: str) -> dict[str, Any]:
        password = secret_reference(ctx.name, "password")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return {
            "url": f"{self.scheme}://{username}:{password}@{host}:{self.port}/{self.db}",
            "host": self.host,
            "port": self.port,
            "username": username,
            "password": password,
            "key_prefix": key_prefix,
        }


def derived_username(ctx: ProviderContext) -> str:
    """`PROJECT-ENVIRONMENT-RESOURCE`, lowercased, other characters made `_`."""
    text = f"{ctx.project}-{ctx.environment}-{ctx.name}".lower()
    return _UNSAFE.sub("_", text)[:128]


def _s(settings: ProviderSettings) -> RedisAclUserSettings:
    assert isinstance(settings, RedisAclUserSettings)
    return settings


def _password_rule(password: SecretStr) -> str:
    return "#" + hashlib.sha256(password.get_secret_value().encode()).hexdigest()


def _rules(s: RedisAclUserSettings) -> list[str]:
    """Every rule but the password: enabled, keys, channels, commands."""
    channels = [f"&{channel}" for channel in s.channels]
    return [
        "on",
        "resetkeys",
        f"~{s.key_prefix}*",
        "resetchannels",
        *channels,
        "-@all",
        *s.commands,
    ]


def _getuser(client: Any, username: str) -> dict[str, Any] | None:
    raw = client.execute_command("ACL", "GETUSER", username)
    if raw is None:
        return None
    if isinstance(raw, list):  # RESP2 flat [key, value, ...]
        raw = dict(zip(raw[::2], raw[1::2], strict=False))
    return {str(key): value for key, value in raw.items()}


def _text(value: Any) -> str:
    """A GETUSER field as one string (Redis 6 gives lists where 7 gives strings)."""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return str(value or "")


def _observed_commands(desired: list[str], actual: str, canonical: str) -> list[str]:
    """The user's rules in the shape of `desired`: `desired` itself when the server has
    exactly what it makes of them; else `desired` followed by the rules that make the
    difference (`+flushall` when FLUSHALL was let through by hand), or, when that says
    less than the server's own form, the server's form."""
    if actual == canonical:
        return list(desired)
    have, want = actual.split(), canonical.split()
    delta = [t for t in have if t not in want]
    delta += [("-" if t[0] == "+" else "+") + t[1:] for t in want if t not in have]
    if not delta or len(delta) >= len(have):
        return have
    return [*desired, *delta]


def _canonical(client: Any, commands: list[str]) -> str:
    """How this server writes `commands`: set them on a disabled probe user, read back."""
    probe = f"shipway-probe-{uuid.uuid4().hex}"
    try:
        client.execute_command("ACL", "SETUSER", probe, "reset", "off", "-@all", *commands)
        user = _getuser(client, probe) or {}
        return _text(user.get("commands"))
    finally:
        client.execute_command("ACL", "DELUSER", probe)


def _save(client: Any) -> None:
    """Persist the ACL when the server keeps an ACL file; without one, users live in
    memory (and in `CONFIG REWRITE`, which is the operator's call)."""
    try:
        client.execute_command("ACL", "SAVE")
    except redis_client.ResponseError as e:
        if "not configured to use an ACL file" not in str(e):
            raise
