"""Finding secrets in text: literal anchors located with `str.find` (fast, in C), each
rule's regex run only in a window around an anchor, then the keyword rules on the lines
that name a secret. A line holding `shipway:ignore-secret` is skipped."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass

from shipway.scanner.findings import Severity
from shipway.scanner.secrets.keywords import KEYWORDS, keyword_match
from shipway.scanner.secrets.placeholders import is_placeholder
from shipway.scanner.secrets.rules import RULES, URL_CREDENTIALS, SecretRule

PRAGMA = "shipway:ignore-secret"
_PEM_NOISE = re.compile(r"-----[A-Z ]+-----|\\[rn]|\s")


@dataclass(frozen=True)
class SecretMatch:
    """A secret found in a text. `value` stays in memory: findings carry only `redacted`
    and `digest`."""

    kind: str
    title: str
    severity: Severity
    start: int
    end: int
    value: str
    reveal: int

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.kind}\0{self.value}".encode()).hexdigest()

    @property
    def redacted(self) -> str:
        return redact(self.value, self.reveal)


def redact(value: str, reveal: int = 0) -> str:
    """The format prefix at most (never more than a fifth of the value), then a mask."""
    shown = value[: min(reveal, len(value) // 5)]
    return f"{shown}{'*' * 8} ({len(value)} chars)"


class SecretDetector:
    def __init__(self, rules: tuple[SecretRule, ...] = (*RULES, URL_CREDENTIALS)) -> None:
        self._exact: dict[str, list[SecretRule]] = defaultdict(list)
        self._folded: dict[str, list[SecretRule]] = defaultdict(list)
        for rule in rules:
            table = self._folded if rule.ignore_case else self._exact
            for anchor in rule.anchors:
                table[anchor.lower() if rule.ignore_case else anchor].append(rule)

    def find(self, text: str, code: bool = False) -> list[SecretMatch]:
        """Every secret in `text`, in order, without overlaps (a vendor rule wins over the
        keyword rules on the same characters)."""
        found: dict[tuple[int, int], SecretMatch] = {}
        for anchor, rules in self._exact.items():
            self._around(text, text, anchor, rules, found)
        lowered = text.lower()
        for anchor, rules in self._folded.items():
            self._around(text, lowered, anchor, rules, found)
        vendor = sorted(found.values(), key=lambda m: m.start)
        generic = self._keywords(text, lowered, code)
        kept = list(vendor)
        for match in generic:
            if not any(m.start < match.end and match.start < m.end for m in vendor):
                kept.append(match)
        return sorted(_unignored(text, kept), key=lambda m: m.start)

    def _around(
        self,
        text: str,
        haystack: str,
        anchor: str,
        rules: list[SecretRule],
        found: dict[tuple[int, int], SecretMatch],
    ) -> None:
        """Run `rules` around each occurrence of `anchor`; one window covers the rest of
        its line, so the next search starts past it."""
        position = haystack.find(anchor)
        while position >= 0:
            resume = position + len(anchor)
            for rule in rules:
                start, end = _window(text, position, rule)
                if not rule.multiline:
                    resume = max(resume, end)
                for m in rule.pattern.finditer(text, start, end):
                    span = m.span("secret")
                    value = m.group("secret")
                    resume = max(resume, m.end())
                    if span in found or not _real(rule, value):
                        continue
                    found[span] = SecretMatch(
                        rule.kind, rule.title, rule.severity, *span, value, rule.reveal
                    )
            position = haystack.find(anchor, resume)

    def _keywords(self, text: str, lowered: str, code: bool) -> list[SecretMatch]:
        """Values assigned to names holding a keyword; a name holding two counts once."""
        out: dict[int, SecretMatch] = {}
        for keyword in KEYWORDS:
            position = lowered.find(keyword)
            while position >= 0:
                m = keyword_match(text, position, code)
                if m is not None and m.start not in out:
                    out[m.start] = SecretMatch(
                        m.kind, m.title, m.severity, m.start, m.end, m.value, 0
                    )
                position = lowered.find(keyword, position + len(keyword))
        return list(out.values())


def _window(text: str, position: int, rule: SecretRule) -> tuple[int, int]:
    """The line around the anchor, at most `rule.reach` characters each way; multi-line
    rules reach forward across lines."""
    line_start = text.rfind("\n", 0, position) + 1
    start = max(line_start, position - rule.reach)
    if rule.multiline:
        return start, min(len(text), position + rule.reach)
    line_end = text.find("\n", position)
    line_end = len(text) if line_end < 0 else line_end
    return start, min(line_end, position + rule.reach)


def _real(rule: SecretRule, value: str) -> bool:
    if rule.multiline:
        # A private key's body is base64 of random bytes; a mask (`AAAA...`) is not.
        body = _PEM_NOISE.sub("", value)
        return len(set(body)) >= 20
    return not is_placeholder(value[rule.reveal :] if rule.reveal else value)


def _unignored(text: str, matches: list[SecretMatch]) -> list[SecretMatch]:
    if PRAGMA not in text:
        return matches
    kept = []
    for match in matches:
        line_start = text.rfind("\n", 0, match.start) + 1
        line_end = text.find("\n", match.start)
        if PRAGMA not in text[line_start : line_end if line_end >= 0 else len(text)]:
            kept.append(match)
    return kept
