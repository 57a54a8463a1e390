"""Secret scanning throughput and recall: shipway's secrets scanner against detect-secrets.

One generated corpus of about 5 MB (code, configuration, notebooks, .env files and prose,
with real-format credentials of 40+ kinds planted and hard negatives beside them; the
generator is tests/scanner/corpus.py) goes through both tools in the same run:

- shipway: `SecretScanner` (no git history: the corpus is a plain folder), in process;
- detect-secrets (PyPI, the `dev` extra): `detect-secrets scan --all-files`, as a user
  runs it, timed around the subprocess; its start-up (about 0.3 s) is measured with an
  empty folder and subtracted, so both figures are scanning time.

Recall is measured on the planted secrets by file and line for both tools.

    python benchmarks/secrets_scan.py

Targets: throughput >= 50x detect-secrets', shipway's recall >= detect-secrets'. The last
line is the RESULT line; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.scanner.corpus import Planted, build_corpus

from shipway.scanner.scanners.interface import ScanTarget
from shipway.scanner.scanners.secrets import SecretScanner

TARGET_BYTES = 5_000_000
TARGET_RATIO = 50.0
ROUNDS = 3


def make_corpus(root: Path) -> tuple[int, list[Planted]]:
    total, planted, part = 0, [], 0
    while total < TARGET_BYTES:
        corpus = build_corpus(
            root / f"part{part:02d}", seed=1000 + part, filler_lines=1100, git=False
        )
        total += corpus.bytes
        planted += [
            Planted(p.kind, p.value, f"part{part:02d}/{p.path}", p.line) for p in corpus.planted
        ]
        part += 1
    return total, planted


def detect_secrets(folder: Path) -> tuple[float, set[tuple[str, int]]]:
    tool = shutil.which("detect-secrets", path=str(Path(sys.executable).parent)) or shutil.which(
        "detect-secrets"
    )
    if tool is None:
        sys.exit("detect-secrets is not installed: pip install -e '.[dev]'")
    start = time.perf_counter()
    done = subprocess.run(
        [tool, "scan", "--all-files"], cwd=folder, capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    results = json.loads(done.stdout)["results"]
    found = {(name, item["line_number"]) for name, items in results.items() for item in items}
    return seconds, found


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        size, planted = make_corpus(root)
        truth = {(p.path, p.line) for p in planted}
        print(f"corpus: {size / 1e6:.2f} MB, {len(planted)} planted secrets of "
              f"{len({p.kind for p in planted})} kinds")  # fmt: skip

        scanner = SecretScanner(history=False)
        ours = float("inf")
        for _ in range(ROUNDS):
            start = time.perf_counter()
            findings = list(scanner.scan(ScanTarget(root)))
            ours = min(ours, time.perf_counter() - start)
        ours_found = {(f.location.path, f.location.line) for f in findings}

        empty = Path(tmp) / "empty"
        empty.mkdir()
        startup, _ = detect_secrets(empty)
        theirs_total, theirs_found = detect_secrets(root)
        theirs = max(theirs_total - startup, 1e-6)

    ours_rate, theirs_rate = size / ours / 1e6, size / theirs / 1e6
    ours_recall = len(ours_found & truth) / len(truth)
    theirs_recall = len(theirs_found & truth) / len(truth)
    ours_precision = len(ours_found & truth) / max(len(ours_found), 1)
    theirs_precision = len(theirs_found & truth) / max(len(theirs_found), 1)
    ratio = ours_rate / theirs_rate
    print(f"shipway:        {ours:.3f} s, {ours_rate:.2f} MB/s, recall {ours_recall:.3f}, "
          f"precision {ours_precision:.3f}")  # fmt: skip
    print(f"detect-secrets: {theirs:.3f} s (+{startup:.2f} s start-up), {theirs_rate:.3f} MB/s, "
          f"recall {theirs_recall:.3f}, precision {theirs_precision:.3f}")  # fmt: skip
    ok = ratio >= TARGET_RATIO and ours_recall >= theirs_recall
    print(f"targets: ratio >= {TARGET_RATIO:.0f}x, recall >= detect-secrets': "
          f"{'met' if ok else 'MISSED'}")  # fmt: skip
    print(
        f"RESULT secrets_scan {ours_rate:.2f} MB/s (ref {theirs_rate:.3f} MB/s, ratio {ratio:.1f}) "
        f"recall {ours_recall:.3f} (ref {theirs_recall:.3f})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
