"""Redaction at ingestion: nothing a line carries reaches the store before this runs.

Two passes over each raw line. First the values of the secrets the environment's services
use (what their `${secret:NAME}` references resolve to through the environment's secret
backend, read the way a process start reads them), as written, JSON-escaped or
URL-encoded, become `[REDACTED:NAME]`. Then credential shapes become `[REDACTED:kind]`:
bearer and basic authorization, URLs with a password, `password=`/`token:`-style pairs
(JSON and logfmt too), AWS access keys, JWTs and well-known vendor token prefixes.

NOTE: the scanner's `SecretDetector` finds more kinds, but costs ~20 us a line (measured)
against an ingestion budget of 20 us for everything, and skips placeholder-looking values
that must still be hidden in logs; one combined regex here costs a few microseconds.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr

from shipway.config.delivery import backend_for, secret_names_in

#: Shorter values are not redacted by value: "1" or "yes" would blank out every line.
MIN_VALUE_LENGTH = 4

_VALUE_CHARS = r"[^\s\"',;&}\]]"


@dataclass(frozen=True)
class CredentialRule:
    """A credential shape: the group `secret` is replaced by `[REDACTED:kind]`. The
    pattern runs only on lines whose lowercased text holds one of `triggers`."""

    kind: str
    triggers: tuple[str, ...]
    pattern: re.Pattern[str]


def _rule(kind: str, triggers: tuple[str, ...], pattern: str) -> CredentialRule:
    return CredentialRule(kind, triggers, re.compile(pattern))


_KEYWORDS = ("pass", "pwd", "secret", "token", "key", "credential")
RULES: tuple[CredentialRule, ...] = (
    _rule(
        "url-password",
        ("://",),
        r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@\"']+:(?P<secret>(?!\[REDACTED)[^\s@/\"']+)@",
    ),
    _rule("bearer-token", ("bearer",), r"(?i:\bbearer)\s+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)"),
    _rule("basic-auth", ("basic",), r"(?i:\bbasic)\s+(?P<secret>[A-Za-z0-9+/]{12,}={0,2})"),
    _rule(
        "credential",
        _KEYWORDS,
        r"(?i:(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key"
        r"|private[_-]?key|credentials?)[\w.-]*)[\"']?\s*[=:]\s*[\"']?"
        rf"(?P<secret>(?!\[REDACTED){_VALUE_CHARS}+)",
    ),
    _rule("aws-access-key", ("akia", "asia"), r"\b(?P<secret>(?:AKIA|ASIA)[0-9A-Z]{16})\b"),
    _rule(
        "jwt",
        ("eyj",),
        r"\b(?P<secret>eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})",
    ),
    _rule(
        "vendor-token",
        ("gh", "xox", "k_live", "k_test", "glpat", "aiza"),
        r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
        r"|xox[abposr]-[A-Za-z0-9-]{10,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"
        r"|glpat-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35})",
    ),
)

#: Every rule's trigger in one pattern, matched against the lowercased line: literal
#: alternatives without IGNORECASE are fast in `re`, and most lines stop here.
_ANY_TRIGGER = re.compile("|".join(sorted({re.escape(t) for r in RULES for t in r.triggers})))


class Redactor:
    """Replaces known secret values and credential shapes in a line. Holds the values
    only inside a compiled pattern; its repr names the secrets, never their values."""

    def __init__(self, values: Mapping[str, SecretStr | str] | None = None) -> None:
        self.names = sorted((values or {}).keys())
        variants: dict[str, str] = {}
        for name, secret in (values or {}).items():
            value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
            if len(value) < MIN_VALUE_LENGTH:
                continue
            for form in (value, json.dumps(value)[1:-1], quote(value, safe="")):
                variants.setdefault(form, name)
        self._compile(variants)

    def _compile(self, variants: dict[str, str]) -> None:
        ordered = sorted(variants, key=len, reverse=True)
        self._by_value = variants
        self._values = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def including(self, earlier: Redactor) -> Redactor:
        """This redactor that also redacts the values `earlier` did (a rotated secret's
        old value may still be printed by a process started before the rotation)."""
        merged = Redactor()
        merged.names = sorted({*self.names, *earlier.names})
        merged._compile({**earlier._by_value, **self._by_value})
        return merged

    def redact(self, line: str) -> str:
        # NOTE: `in` (a C substring search) per value form first: a regex sub over every
        # line cost more than parsing it (measured), and most lines hold no secret.
        if self._values is not None and any(form in line for form in self._by_value):
            line = self._values.sub(self._value_label, line)
        # NOTE: each rule's regex runs only when one of its trigger words is in the line
        # (C substring searches); one combined regex over every line cost ~10x more.
        lowered = line.lower()
        if _ANY_TRIGGER.search(lowered) is None:
            return line
        for rule in RULES:
            if any(trigger in lowered for trigger in rule.triggers):
                line = rule.pattern.sub(functools.partial(_credential_label, rule.kind), line)
        return line

    def _value_label(self, match: re.Match[str]) -> str:
        return f"[REDACTED:{self._by_value[match.group(0)]}]"

    def __repr__(self) -> str:
        return f"Redactor(names={self.names!r})"


def _credential_label(kind: str, match: re.Match[str]) -> str:
    start, end = match.span("secret")
    offset = match.start()
    whole = match.group(0)
    return f"{whole[: start - offset]}[REDACTED:{kind}]{whole[end - offset :]}"


def release_secret_names(services: Mapping[str, Any]) -> list[str]:
    """The `${secret:NAME}` names a release's services use (command, env, health command
    and template values), from the release record's service specs."""
    texts: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for spec in services.values():
        if isinstance(spec, dict):
            collect([spec.get("run"), spec.get("env"), spec.get("file_scope")])
            collect((spec.get("health") or {}).get("command"))
    return secret_names_in(texts)


def release_redactor(services: Mapping[str, Any]) -> Redactor:
    """A redactor for the lines of a release: its services' secret values, read through
    the environment's secret backend (`secret_source`) as a process start reads them."""
    names = release_secret_names(services)
    source = next(
        (
            s["secret_source"]
            for s in services.values()
            if isinstance(s, dict) and s.get("secret_source")
        ),
        None,
    )
    if not names or source is None:
        return Redactor()
    return Redactor(backend_for(source).get_many(names))
