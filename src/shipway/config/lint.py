"""The plain-text secret lint: credentials belong in a secret backend, never in a layer.

Two rules. A key named like a credential (`password`, `db_token`, `apiKey`, `client_secret`)
must resolve to a value that holds a `${secret:...}` reference. And any text that looks
like a credential (a cloud access key, a private key block, a known token format, a URL
with a password) is refused wherever it sits. A finding names the key and the position,
never the value. `config.allow_plaintext` lists keys to leave alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from shipway.config.errors import ConfigError
from shipway.config.interpolation import Resolved
from shipway.config.layers import Layer, Stack
from shipway.config.origins import Origin, Path, dotted

SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "pw",
        "passphrase",
        "secret",
        "token",
        "key",
        "apikey",
        "credential",
        "credentials",
    }
)
#: A word before `key` that makes it a name, not a credential (`primary_key`, `sort_key`).
NOT_SECRET_BEFORE_KEY = frozenset(
    {"public", "primary", "foreign", "sort", "partition", "cache", "routing", "hash", "lookup"}
)
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,})")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Stripe live key", re.compile(r"\b[rs]k_live_[A-Za-z0-9]{16,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("an API secret key", re.compile(r"\bsk-[A-Za-z0-9_\-]{32,}")),
    (
        "a JSON Web Token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    ),
)
_URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^/\s:@]+:([^@\s/]+)@", re.IGNORECASE)
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


@dataclass(frozen=True)
class Finding:
    """A plain-text secret: where, and what it looked like (never the value)."""

    path: Path
    origin: Origin
    reason: str

    def error(self) -> ConfigError:
        return self.origin.error(f"{dotted(self.path)}: {self.reason}")


def key_words(key: str) -> list[str]:
    """`dbPassword` -> [db, password]; `API_KEY` -> [api, key]."""
    return [word.lower() for word in _WORDS.findall(key)]


def secret_like_key(key: str) -> bool:
    words = key_words(key)
    if not words or words == ["key"]:
        # NOTE: a bare `key` is mostly a name (`- {key: LOG_LEVEL, value: debug}`).
        return False
    if words[-1] == "key" and words[-2] in NOT_SECRET_BEFORE_KEY:
        return False
    return words[-1] in SECRET_WORDS or "".join(words[-2:]) in {"apikey", "secretkey"}


def lint(stack: Stack, resolved: Resolved, allow: Iterable[str] = ()) -> list[Finding]:
    """Every plain-text secret, in key order."""
    allowed = set(allow)
    found: dict[Path, Finding] = {}
    for layer in stack.layers:
        for path, value in _leaves(layer.data, ()):
            if isinstance(value, str) and dotted(path) not in allowed:
                reason = looks_like_credential(value)
                if reason and path not in found:
                    found[path] = Finding(path, layer.origin(path), _pattern_reason(reason))
    for path, value in _leaves(resolved.values, ()):
        if path in found or dotted(path) in allowed or not isinstance(value, str) or not value:
            continue
        key = next((p for p in reversed(path) if isinstance(p, str)), "")
        template = resolved.templates.get(path)
        if secret_like_key(key) and (template is None or not template.secrets):
            found[path] = Finding(path, stack.origin(path), _name_reason(key))
    return [found[path] for path in sorted(found, key=lambda p: [str(x) for x in p])]


def check(stack: Stack, resolved: Resolved, allow: Iterable[str] = ()) -> None:
    """Raise the first finding (the message counts the others)."""
    findings = lint(stack, resolved, allow)
    if not findings:
        return
    first = findings[0].error()
    if len(findings) > 1:
        more = len(findings) - 1
        raise ConfigError(
            f"{first.reason} (and {more} more plain-text secret{'s' if more > 1 else ''})",
            path=first.path,
            line=first.line,
            column=first.column,
        )
    raise first


def looks_like_credential(text: str) -> str | None:
    """What `text` looks like when it holds a credential, else None."""
    for what, pattern in PATTERNS:
        if pattern.search(text):
            return what
    for match in _URL_PASSWORD.finditer(text):
        if not match.group(1).startswith(("${", "$${")):
            return "a URL with a password"
    return None


def _pattern_reason(what: str) -> str:
    return (
        f"plain-text secret ({what}): keep it in a secret backend "
        "(shipway secrets set) and write ${secret:NAME} here"
    )


def _name_reason(key: str) -> str:
    name = "_".join(key_words(key)) or "name"
    return (
        f"plain-text secret: a key named like a credential must be a reference such as "
        f"${{secret:{name}}} (store the value with: shipway secrets set {name}); "
        "list the key in config.allow_plaintext if it is not a secret"
    )


def _leaves(value: Any, path: Path) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    else:
        yield path, value


def layer_findings(layer: Layer) -> list[Finding]:
    """Pattern findings of one layer alone (for `config set`, before it is stored)."""
    out = []
    for path, value in _leaves(layer.data, ()):
        if isinstance(value, str) and (reason := looks_like_credential(value)):
            out.append(Finding(path, layer.origin(path), _pattern_reason(reason)))
    return out
