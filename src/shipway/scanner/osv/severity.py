"""An advisory's severity: from its CVSS vector (v4 preferred, then v3, then v2, scored with
the `cvss` package), else the database's own rating, else HIGH.

NOTE: most PyPA records carry no severity at all. Treating them as HIGH keeps the gate
closed on a known vulnerability with a published fix; see docs/decisions/0018.
"""

from __future__ import annotations

from dataclasses import dataclass

from cvss import CVSS2, CVSS3, CVSS4  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from shipway.scanner.findings import Severity
from shipway.scanner.osv.records import Advisory

UNKNOWN_SEVERITY = Severity.HIGH
_PREFERENCE = ("CVSS_V4", "CVSS_V3", "CVSS_V2")


@dataclass(frozen=True)
class Rating:
    severity: Severity
    #: 0.0-10.0 when a CVSS vector gave it.
    score: float | None
    vector: str | None
    source: str
    known: bool = True


def severity_from_score(score: float) -> Severity:
    """CVSS qualitative ratings (v3.1 section 5); 0.0 ("none") counts as low."""
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW


def cvss_score(kind: str, vector: str) -> float | None:
    """The base score of a CVSS vector, or None when the vector does not parse."""
    try:
        if kind == "CVSS_V4":
            return float(CVSS4(vector).base_score)
        if kind == "CVSS_V3":
            return float(CVSS3(vector).base_score)
        if kind == "CVSS_V2":
            return float(CVSS2(vector).base_score)
    except (CVSSError, ValueError, KeyError, IndexError):
        return None
    return None


def rate(advisory: Advisory) -> Rating:
    vectors = dict(advisory.severity)
    for kind in _PREFERENCE:
        vector = vectors.get(kind)
        if vector:
            score = cvss_score(kind, vector)
            if score is not None:
                return Rating(severity_from_score(score), score, vector, f"{kind} {score:.1f}")
    if advisory.database_severity:
        try:
            severity = Severity.parse(advisory.database_severity)
        except ValueError:
            pass
        else:
            return Rating(severity, None, None, f"advisory rates it {severity.label}")
    return Rating(UNKNOWN_SEVERITY, None, None, "no severity published; treated as high", False)
