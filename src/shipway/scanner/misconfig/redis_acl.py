"""Redis users allowed dangerous commands: FLUSHALL, CONFIG, DEBUG, MODULE, ... let one
leaked application password wipe the data or run code on the server."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ManifestView, MisconfigRule, ResourceView

#: Commands in Redis's @dangerous category that an application never needs.
DANGEROUS_COMMANDS = frozenset(
    """acl bgrewriteaof bgsave cluster config debug failover flushall flushdb info keys
    lastsave latency migrate module monitor psync replconf replicaof restore save shutdown
    slaveof slowlog sort swapdb sync""".split()  # noqa: SIM905
)


def allows_dangerous(rules: str) -> str | None:
    """What, in an ACL rule string read left to right as Redis does, leaves a dangerous
    command allowed (`+@all`, `allcommands`, `+flushall`, ...), or None."""
    allowed: str | None = None
    for token in rules.lower().split():
        if token in ("+@all", "allcommands", "+@dangerous"):
            allowed = token
        elif token in ("-@all", "nocommands", "-@dangerous", "reset"):
            allowed = None
        elif token.startswith("+") and token[1:].split("|")[0] in DANGEROUS_COMMANDS:
            allowed = allowed or token
    return allowed


class RedisDangerousCommands(MisconfigRule):
    rule = Rule(
        id="misconfig.redis-dangerous-commands",
        title="Redis user allowed dangerous commands",
        why="An application user that may run FLUSHALL, CONFIG SET, DEBUG or MODULE LOAD "
        "turns one leaked password into lost data or code running on the Redis server.",
        fix="Grant only what the application uses and end the rules with `-@dangerous` "
        "(e.g. `~app:* +@read +@write -@dangerous`).",
        severity=Severity.HIGH,
    )

    def check(self, view: ManifestView) -> Iterator[Finding]:
        for name, resource in view.environment.resources.items():
            commands = resource.attributes.get("commands")
            if resource.type == "redis.acl_user" and isinstance(commands, str):
                found = allows_dangerous(commands)
                if found:
                    detail = f"resource {name!r} allows `{found}` without `-@dangerous`"
                    yield self.finding(view, name, ("resources", name, "commands"), detail)

    def check_resource(self, view: ResourceView) -> Iterator[Finding]:
        if view.type != "redis.acl_user":
            return
        commands = view.configuration.get("commands")
        # NOTE: Redis's default for a new user is no commands; an empty string is safe.
        found = allows_dangerous(commands) if isinstance(commands, str) else None
        if found:
            yield self.resource_finding(view, f"allows `{found}` without `-@dangerous`")
