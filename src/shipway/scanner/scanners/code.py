"""The code scanner: Python SAST with bandit, used as a library, its issues normalized into
findings. bandit is optional (`pip install 'shipway[sast]'`); without it the scanner
reports itself unavailable instead of failing the scan.

Test code is left out (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`): asserts and
fixtures there are not what ships. A LOW-confidence issue is lowered one severity level.
"""

from __future__ import annotations

import hashlib
import importlib.util
import linecache
import logging
import warnings
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any

from shipway.scanner.files import walk
from shipway.scanner.findings import Finding, Location, Rule, Severity
from shipway.scanner.scanners.interface import Scanner, ScannerError, ScanTarget

_TEST_FOLDERS = frozenset({"tests", "test", "testing"})
_SEVERITY = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH}
FIX = (
    "Read the rule's page (the finding's `url`) and change the code; a line reviewed and "
    "kept is marked `# nosec BXXX` with the reason."
)

# bandit reports files it cannot parse through logging; shipway does not print them.
logging.getLogger("bandit").addHandler(logging.NullHandler())


def is_test_file(relative: str) -> bool:
    path = PurePosixPath(relative)
    name = path.name
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(part in _TEST_FOLDERS for part in path.parts[:-1])


class CodeScanner(Scanner):
    name = "code"

    def unavailable(self) -> str | None:
        if importlib.util.find_spec("bandit") is None:
            return "needs bandit: pip install 'shipway[sast]'"
        return None

    def rules(self) -> Sequence[Rule]:
        return ()

    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        files = {
            str(f.path): f.relative
            for f in walk(target.root)
            if f.relative.endswith(".py") and not is_test_file(f.relative)
        }
        if not files:
            return
        for issue in _bandit(sorted(files)):
            relative = files.get(issue.fname)
            if relative is not None:
                yield _finding(issue, relative)


def _bandit(paths: list[str]) -> list[Any]:
    # NOTE: bandit 1.9 calls stevedore with an argument stevedore deprecates; the warning
    # is theirs to fix, and is not shown to shipway's users (nor turned into a test error).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="stevedore")
        try:
            from bandit.core import config as bandit_config  # type: ignore[import-untyped]
            from bandit.core import manager as bandit_manager
        except ImportError as e:
            raise ScannerError(f"the code scanner needs bandit: {e}") from e
        try:
            config = bandit_config.BanditConfig()
            manager = bandit_manager.BanditManager(config, "file", quiet=True)
            manager.discover_files(paths, recursive=False)
            manager.run_tests()
            return list(manager.get_issue_list())
        except Exception as e:  # bandit is a library we do not control: translate here
            raise ScannerError(f"bandit failed: {type(e).__name__}: {e}") from e


def _name(issue: Any) -> str:
    """bandit's test name, or for its blacklist tests (all named `blacklist`) the text."""
    name = str(issue.test)
    if name != "blacklist":
        return name.replace("_", " ")
    text = str(issue.text).split(".")[0]
    return text if len(text) <= 80 else text[:79] + "…"


def _finding(issue: Any, relative: str) -> Finding:
    from bandit.core.docs_utils import get_url  # type: ignore[import-untyped]

    severity = _SEVERITY.get(str(issue.severity), Severity.MEDIUM)
    if str(issue.confidence) == "LOW" and severity > Severity.LOW:
        severity = Severity(severity - 1)
    test_id = str(issue.test_id)
    properties = {
        "bandit_test": f"{test_id} {issue.test}",
        "confidence": str(issue.confidence).lower(),
        "url": get_url(test_id),
    }
    cwe = getattr(getattr(issue, "cwe", None), "id", None)
    if cwe:
        properties["cwe"] = f"CWE-{cwe}"
    line = int(issue.lineno)
    # For baselines: what the line says, so the finding keeps its fingerprint when lines
    # above it are added or removed.
    linecache.checkcache(str(issue.fname))  # an agent scans files that change
    source = linecache.getline(str(issue.fname), line).strip()
    properties["content_digest"] = hashlib.sha256(source.encode()).hexdigest()[:16]
    return Finding(
        id=f"{test_id}:{relative}:{line}",
        rule=f"code.{test_id.lower()}",
        scanner="code",
        severity=severity,
        location=Location(relative, line, int(issue.col_offset) + 1),
        title=f"{test_id} {_name(issue)}",
        why=str(issue.text),
        fix=FIX,
        properties=MappingProxyType(properties),
    )
