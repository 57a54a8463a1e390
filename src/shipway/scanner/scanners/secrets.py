"""The secrets scanner: every text file under the root, and the lines added in the git
history when the root is inside a repository. Findings carry a redacted value and a
digest; the value itself never leaves this module."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from shipway.scanner.files import walk
from shipway.scanner.findings import Finding, Location, Rule, Severity
from shipway.scanner.scanners.interface import Scanner, ScanTarget
from shipway.scanner.secrets.detector import SecretDetector, SecretMatch
from shipway.scanner.secrets.history import added_texts, inside_repository
from shipway.scanner.secrets.keywords import CODE_SUFFIXES
from shipway.scanner.secrets.rules import RULES, URL_CREDENTIALS

MAX_FILE_BYTES = 16 * 1024 * 1024
_BINARY_PROBE = 8192

WHY = (
    "Anyone who can read this file, a copy of it or the repository's history can use the "
    "credential as its owner."
)
FIX = (
    "Revoke and rotate it, then load it at run time from a secret store (`${secret:NAME}` "
    "in shipway.yaml). Deleting the line is not enough once it was committed: git keeps it."
)
_GENERIC = (
    Rule("secret.password-assignment", "Password in a file", WHY, FIX, Severity.HIGH),
    Rule("secret.generic-secret", "Secret, token or key in a file", WHY, FIX, Severity.HIGH),
)


@dataclass
class _Seen:
    match: SecretMatch
    location: Location
    history_commit: str | None = None


class SecretScanner(Scanner):
    name = "secrets"

    def __init__(self, *, history: bool = True) -> None:
        self._history = history
        self._detector = SecretDetector()

    def rules(self) -> Sequence[Rule]:
        vendor = tuple(Rule(r.id, r.title, WHY, FIX, r.severity) for r in (*RULES, URL_CREDENTIALS))
        return (*vendor, *_GENERIC)

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        # One finding per secret (rule and value): its first place in the working tree,
        # else the commit that added it.
        seen: dict[str, _Seen] = {}
        for file in walk(target.root):
            if target.cancelled():
                return
            if file.size > MAX_FILE_BYTES:
                continue
            text = _read_text(file.path)
            if text is None:
                continue
            for match, line, column in self._find(text, file.relative):
                seen.setdefault(match.digest, _Seen(match, Location(file.relative, line, column)))
        if self._history and inside_repository(target.root):
            for added in added_texts(target.root, target.cancelled):
                for match, line, column in self._find(added.text, added.path):
                    file_line = added.lines[line - 1]
                    entry = seen.get(match.digest)
                    if entry is None:
                        location = Location(added.path, file_line, column, added.commit)
                        seen[match.digest] = _Seen(match, location, added.commit)
                    else:
                        # Newest first: the last commit seen is the one that added it.
                        entry.history_commit = added.commit
                        if entry.location.commit:
                            entry.location = Location(added.path, file_line, column, added.commit)
        for entry in seen.values():
            yield _finding(entry)

    def _find(self, text: str, relative: str) -> Iterator[tuple[SecretMatch, int, int]]:
        code = PurePosixPath(relative).suffix.lower() in CODE_SUFFIXES
        for match in self._detector.find(text, code):
            line_start = text.rfind("\n", 0, match.start) + 1
            yield match, text.count("\n", 0, match.start) + 1, match.start - line_start + 1


def _read_text(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:_BINARY_PROBE]:
        return None
    return data.decode("utf-8", errors="replace")


def _finding(entry: _Seen) -> Finding:
    match = entry.match
    properties = {"redacted": match.redacted, "kind": match.kind}
    if entry.history_commit:
        properties["git_commit"] = entry.history_commit
    in_history = entry.history_commit is not None
    where = "was committed" if entry.location.commit else "is in the working tree"
    why = WHY + (" It is in the git history." if in_history and not entry.location.commit else "")
    return Finding(
        id=f"SECRET-{match.digest[:16]}",
        rule=f"secret.{match.kind}",
        scanner="secrets",
        severity=match.severity,
        location=entry.location,
        title=f"{match.title} {where} ({match.redacted})",
        why=why,
        fix=FIX,
        properties=MappingProxyType(properties),
    )
