"""Baselines: the fingerprints of the findings a team has today, so the gate can apply to
new findings only while old ones are worked off (`shipway scan --baseline write|use`,
`security.baseline`).

A baseline fingerprint is stable when lines move: the rule, the file, and a digest of what
was matched (a secret's id, itself a hash of rule and value; the source line of a code
finding; an advisory id; a misconfiguration's subject), never the line number and never a
secret's value. A baseline file lists fingerprints with the rule and file, for review."""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipway import __version__
from shipway.errors import InputError
from shipway.scanner.findings import Finding

FORMAT = 1
#: Where `--baseline write|use` reads and writes when no file is named: beside the scan
#: root, meant to be committed with the code.
DEFAULT_NAME = ".shipway-baseline.json"


def fingerprint(finding: Finding) -> str:
    """The finding's baseline fingerprint (32 hex)."""
    content = finding.properties.get("content_digest") or finding.id
    key = "\0".join((finding.rule, finding.location.path, content))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Baseline:
    fingerprints: frozenset[str]
    path: str = ""

    def __contains__(self, finding: Finding) -> bool:
        return fingerprint(finding) in self.fingerprints

    @classmethod
    def read(cls, path: Path) -> Baseline:
        """A baseline file; InputError (one line, with the file) when it is unusable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"{path}: no baseline file (write one with `shipway scan --baseline write`)"
            ) from None
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read the baseline: {e}") from None
        except json.JSONDecodeError as e:
            raise InputError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
        entries = data.get("findings") if isinstance(data, dict) else None
        if not isinstance(entries, list) or data.get("format") != FORMAT:
            raise InputError(f"{path}: not a shipway baseline (format {FORMAT})")
        prints = {e.get("fingerprint") for e in entries if isinstance(e, dict)}
        if not all(isinstance(p, str) and p for p in prints):
            raise InputError(f"{path}: a baseline entry has no fingerprint")
        return cls(frozenset(p for p in prints if isinstance(p, str)), str(path))


def baseline_document(findings: Iterable[Finding]) -> dict[str, Any]:
    entries = {
        fingerprint(f): {
            "fingerprint": fingerprint(f),
            "rule": f.rule,
            "path": f.location.path,
            "severity": f.severity.label,
        }
        for f in findings
    }
    return {
        "format": FORMAT,
        "tool": f"shipway {__version__}",
        "created": datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat(),
        "findings": [entries[key] for key in sorted(entries)],
    }


def write_baseline(findings: Iterable[Finding], path: Path) -> int:
    """Write the baseline of `findings` to `path`; how many fingerprints it holds."""
    document = baseline_document(findings)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    return len(document["findings"])
