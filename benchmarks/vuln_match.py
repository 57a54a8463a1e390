"""Offline vulnerability matching: 1,000 pinned packages against the whole OSV snapshot
(../shared/data/osv-pypi, the PyPA advisory database, about 2,700 records).

The requirement set is drawn (seeded) from the snapshot itself: every package it knows,
each pinned to a version its records list as affected, a version past every fix, or a
random one, plus packages it does not know, up to 1,000 pins. Measured after the database
is loaded (the load time is printed too): the dependency scanner's whole run over a
requirements.txt with those pins (parsing, matching, alias merging, nearest fixed
version, findings), best of three, each with the database's range caches cold.

There is no peer tool that matches offline against this export, so the reference is the
target itself (1 s).

    python benchmarks/vuln_match.py

The last line is the RESULT line; the exit status is 1 when the target is missed.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from shipway.scanner.osv.database import OsvDatabase
from shipway.scanner.scanners.dependencies import DependencyScanner
from shipway.scanner.scanners.interface import ScanTarget

SNAPSHOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "osv-pypi"
PACKAGES = 1000
TARGET_S = 1.0
ROUNDS = 3


def requirement_set(database: OsvDatabase, rng: random.Random) -> list[str]:
    """`name==version` lines: every known package once, then unknown ones up to 1,000."""
    names = sorted({name for (ecosystem, name) in database.index_keys() if ecosystem == "PyPI"})
    lines = []
    for name in names[:PACKAGES]:
        matchers = database.candidates("PyPI", name)
        listed = sorted({v for m in matchers for v in m.affected.versions})
        fixes = sorted({b.text for m in matchers for b in m.fixes()})
        choice = rng.random()
        if listed and choice < 0.5:
            version = rng.choice(listed)
        elif fixes and choice < 0.8:
            version = fixes[-1]
        else:
            version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        lines.append(f"{name}=={version}")
    for index in range(PACKAGES - len(lines)):
        lines.append(f"unlisted-package-{index}=={rng.randint(0, 5)}.{rng.randint(0, 9)}")
    return lines


def main() -> int:
    vulns = SNAPSHOT / "vulns"
    if not vulns.is_dir():
        sys.exit(f"the OSV snapshot is not at {vulns}")
    start = time.perf_counter()
    OsvDatabase.load(vulns)
    load = time.perf_counter() - start
    print(f"load: {load:.2f} s for the snapshot ({vulns})")

    best, findings = float("inf"), 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for round_ in range(ROUNDS):
            # A fresh database each round, so ranges are parsed again inside the timing.
            database = OsvDatabase.load(vulns)
            lines = requirement_set(database, random.Random(7))
            (root / "requirements.txt").write_text("\n".join(lines) + "\n")
            scanner = DependencyScanner(database)
            start = time.perf_counter()
            found = list(scanner.scan(ScanTarget(root)))
            best = min(best, time.perf_counter() - start)
            findings = len(found)
            if round_ == 0:
                print(f"{database.records} records ({database.withdrawn} withdrawn) for "
                      f"{database.packages} packages; {len(lines)} pins")  # fmt: skip
    print(f"match: {best:.3f} s for {PACKAGES} pinned packages, {findings} findings")
    ok = best <= TARGET_S
    print(f"target: <= {TARGET_S:.1f} s after load: {'met' if ok else 'MISSED'}")
    print(
        f"RESULT vuln_match {best:.3f} s (ref {TARGET_S:.3f} s, ratio {best / TARGET_S:.3f}) "
        f"load {load:.2f} s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
