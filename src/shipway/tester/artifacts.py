"""Files the tester keeps for failed cases, under `<artifacts>/tests/<kind>/`.

Text goes through the redactor before it is written. Binary files (screenshots, browser
traces) are written by their producers at paths this store hands out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from shipway.tester.redaction import Redactor

#: Bodies kept in an artifact are cut here; the artifact says how long they were.
MAX_BODY = 64 * 1024


def slug(name: str) -> str:
    """A file-name-safe form of a test name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned[:80] or "case"


class ArtifactStore:
    """Hands out paths under `root` and writes redacted text there."""

    def __init__(self, root: Path, redactor: Redactor) -> None:
        self.root = root
        self.redactor = redactor

    def path(self, kind: str, name: str, suffix: str) -> Path:
        """A fresh path for `name` (never one that already exists)."""
        folder = self.root / slug(kind)
        folder.mkdir(parents=True, exist_ok=True)
        base = slug(name)
        candidate = folder / f"{base}{suffix}"
        number = 2
        while candidate.exists():
            candidate = folder / f"{base}-{number}{suffix}"
            number += 1
        return candidate

    def write_text(self, kind: str, name: str, suffix: str, text: str) -> str:
        target = self.path(kind, name, suffix)
        target.write_text(self.redactor.redact(text), encoding="utf-8")
        return str(target)

    def write_json(self, kind: str, name: str, data: Any) -> str:
        return self.write_text(kind, name, ".json", json.dumps(data, indent=2, default=str))


def clipped(text: str) -> dict[str, Any]:
    """A body for an artifact: the text, cut at MAX_BODY, with its full length."""
    return {"length": len(text), "text": text[:MAX_BODY], "truncated": len(text) > MAX_BODY}
