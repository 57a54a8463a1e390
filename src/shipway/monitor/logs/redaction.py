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
from collections.abc import Callable, Mapping
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
    #: Every match starts with one of `triggers` and the pattern looks at nothing before
    #: its match (no \b, ^ or look-behind there): on an ASCII line it may skip to the
    #: first trigger.
    starts_at_trigger: bool = False


def _rule(
    kind: str, triggers: tuple[str, ...], pattern: str, starts_at_trigger: bool = False
) -> CredentialRule:
    return CredentialRule(kind, triggers, re.compile(pattern), starts_at_trigger)


# NOTE: the triggers are exactly the ways the credential pattern's keyword can start (its
# `api[_-]?key`-style alternatives spelled out), so a bare "key=" (logfmt's `key=user:1`)
# no longer runs the pattern, which finds nothing there and cost ~6 us a line (measured).
_KEYWORDS = (
    "pass",
    "pwd",
    "secret",
    "token",
    "credential",
    *(f"{head}{joint}key" for head in ("api", "access", "private") for joint in ("", "_", "-")),
)
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
        starts_at_trigger=True,
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


def _trie(words: set[str]) -> str:
    """A regex matching where any of `words` occurs, factored by common prefix
    ("p(?:ass|wd)"): `re` tries a flat alternation's every branch at every position,
    ~2x slower (measured). A word that starts a longer one ends the match there: only
    whether and where a trigger occurs matters."""
    if "" in words:
        return ""
    heads: dict[str, set[str]] = {}
    for word in words:
        heads.setdefault(word[0], set()).add(word[1:])
    branches = [re.escape(head) + _trie(tails) for head, tails in sorted(heads.items())]
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _first_trigger(words: set[str]) -> re.Pattern[str]:
    assert words and "" not in words, "a trigger is a non-empty word"
    return re.compile(_trie(words))


#: Every rule's trigger in one pattern, matched against the lowercased line: literal
#: alternatives without IGNORECASE are fast in `re`, and most lines stop here.
_ANY_TRIGGER = _first_trigger({t for r in RULES for t in r.triggers})
#: Where a `starts_at_trigger` rule's first trigger is, by rule kind.
_FIRST_TRIGGER = {r.kind: _first_trigger(set(r.triggers)) for r in RULES if r.starts_at_trigger}


def _credential_label(kind: str, match: re.Match[str]) -> str:
    """The match with its `secret` group replaced by `[REDACTED:kind]`."""
    text = match.string
    start, end = match.span("secret")
    return f"{text[match.start() : start]}[REDACTED:{kind}]{text[end : match.end()]}"


_Label = Callable[[re.Match[str]], str]
_LABELS: tuple[tuple[CredentialRule, _Label], ...] = tuple(
    (rule, functools.partial(_credential_label, rule.kind)) for rule in RULES
)


def _apply(rule: CredentialRule, label: _Label, line: str) -> str:
    """`rule` applied to `line`."""
    # NOTE: the keyword pattern is case-insensitive, which `re` can only try at every
    # position (~5 us on a line that holds a password, measured); it starts where its
    # first trigger is. Only on ASCII lines: there the lowercase keeps every position,
    # and (?i) matches no other spellings (on other text it matches the long s U+017F
    # as "s", which lower() keeps).
    if rule.starts_at_trigger and line.isascii():
        # this line's lowercase, after the earlier rules
        first = _FIRST_TRIGGER[rule.kind].search(line.lower())
        if first is None:  # its trigger was inside what an earlier rule replaced
            return line
        start = first.start()
        return line[:start] + rule.pattern.sub(label, line[start:])
    return rule.pattern.sub(label, line)


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
        self._forms = tuple(ordered)
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
        if self._values is not None:
            for form in self._forms:
                if form in line:
                    line = self._values.sub(self._value_label, line)
                    break
        # NOTE: each rule's regex runs only when one of its trigger words is in the line
        # (C substring searches); one combined regex over every line cost ~10x more. The
        # rules stay separate passes, in order: one alternation would let an earlier
        # match swallow the text a later rule redacts ("password=Bearer <token>").
        lowered = line.lower()
        if _ANY_TRIGGER.search(lowered) is None:
            return line
        for rule, label in _LABELS:
            for trigger in rule.triggers:
                if trigger in lowered:
                    line = _apply(rule, label, line)
                    break
        return line

    def _value_label(self, match: re.Match[str]) -> str:
        return f"[REDACTED:{self._by_value[match.group(0)]}]"

    def __repr__(self) -> str:
        return f"Redactor(names={self.names!r})"


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
