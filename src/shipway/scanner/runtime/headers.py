"""HTTP security headers of a service's response: HSTS (over HTTPS), nosniff, framing
protection, a Content-Security-Policy, a Referrer-Policy; and server version disclosure."""

from __future__ import annotations

import re
from collections.abc import Mapping

from shipway.scanner.findings import Severity
from shipway.scanner.runtime.problems import Problem, rule

MISSING_HSTS = rule(
    "missing-hsts",
    "HTTPS without Strict-Transport-Security",
    "Without HSTS a browser may first try plain HTTP, where anyone on the network can "
    "redirect or read the session (SSL stripping).",
    "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on HTTPS responses.",
    Severity.MEDIUM,
)
MISSING_NOSNIFF = rule(
    "missing-content-type-options",
    "No X-Content-Type-Options: nosniff",
    "Browsers may guess a response's type from its content and run an uploaded text "
    "file as a script.",
    "Send `X-Content-Type-Options: nosniff` on every response.",
    Severity.LOW,
)
MISSING_FRAMING = rule(
    "missing-frame-protection",
    "Pages can be framed by any site",
    "Without X-Frame-Options or CSP `frame-ancestors`, another site can load the pages "
    "in an invisible frame and trick users into clicking (clickjacking).",
    "Send `Content-Security-Policy: frame-ancestors 'none'` (or `X-Frame-Options: DENY`).",
    Severity.MEDIUM,
)
MISSING_CSP = rule(
    "missing-csp",
    "No Content-Security-Policy",
    "A CSP limits where scripts may come from; without one, any injected markup (XSS) "
    "runs with the page's full rights.",
    "Send a `Content-Security-Policy`, e.g. `default-src 'self'`, and tighten it from there.",
    Severity.MEDIUM,
)
MISSING_REFERRER = rule(
    "missing-referrer-policy",
    "No Referrer-Policy",
    "Full URLs, with tokens or ids in their query strings, leak to every site the pages "
    "link to or load from.",
    "Send `Referrer-Policy: strict-origin-when-cross-origin` (or `no-referrer`).",
    Severity.LOW,
)
VERSION_DISCLOSURE = rule(
    "server-version-disclosure",
    "Server software and version disclosed",
    "A `Server` or `X-Powered-By` header with a version tells attackers which known "
    "vulnerabilities to try, without a single probe.",
    "Remove the header, or send the product name without its version.",
    Severity.LOW,
)
RULES = (
    MISSING_HSTS,
    MISSING_NOSNIFF,
    MISSING_FRAMING,
    MISSING_CSP,
    MISSING_REFERRER,
    VERSION_DISCLOSURE,
)
_VERSION = re.compile(r"\d+\.\d+")


def header_problems(headers: Mapping[str, str], https: bool) -> list[Problem]:
    """The problems with a response's headers (`headers` keys in lower case)."""
    found: list[Problem] = []
    if https and "strict-transport-security" not in headers:
        found.append(Problem(MISSING_HSTS, "responds over HTTPS without HSTS"))
    if headers.get("x-content-type-options", "").strip().lower() != "nosniff":
        found.append(Problem(MISSING_NOSNIFF, "does not send X-Content-Type-Options: nosniff"))
    csp = headers.get("content-security-policy", "")
    if "x-frame-options" not in headers and "frame-ancestors" not in csp.lower():
        found.append(Problem(MISSING_FRAMING, "sends neither X-Frame-Options nor frame-ancestors"))
    if not csp:
        found.append(Problem(MISSING_CSP, "does not send a Content-Security-Policy"))
    if "referrer-policy" not in headers:
        found.append(Problem(MISSING_REFERRER, "does not send a Referrer-Policy"))
    for name in ("server", "x-powered-by"):
        value = headers.get(name, "")
        if _VERSION.search(value):
            problem = Problem(
                VERSION_DISCLOSURE, f"sends {name}: {value[:80]}", name, {"header": name}
            )
            found.append(problem)
    return found
