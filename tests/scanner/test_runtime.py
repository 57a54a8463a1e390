"""The runtime scanner against real servers started here: HTTPS with certificates made by
`cryptography` (a CA-signed one that passes, expired, expiring, self-signed, for another
name, TLS 1.0 accepted), plain HTTP with and without security headers, and a process tree
listening on a port nobody declared."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from shipway.scanner.runtime.endpoints import ServiceEndpoint
from shipway.scanner.scanners.interface import ScanTarget
from shipway.scanner.scanners.runtime import RuntimeScanner
from tests.runtime.deployed import free_port
from tests.scanner.servers import (
    GOOD_HEADERS,
    NOW,
    authority,
    certificate,
    listening_tree,
    web_server,
)


def rules_of(tmp_path: Path, *endpoints: ServiceEndpoint) -> dict[str, list[str]]:
    """rule -> titles of the findings for `endpoints`."""
    target = ScanTarget(tmp_path, services=endpoints)
    out: dict[str, list[str]] = {}
    for finding in RuntimeScanner().scan(target):
        out.setdefault(finding.rule, []).append(finding.title)
        assert finding.properties["service"] == "api" and finding.scanner == "runtime"
    return out


def test_a_well_configured_https_service_passes(tmp_path: Path) -> None:
    issued = certificate(tmp_path, "good", ca=authority())
    with web_server(GOOD_HEADERS, issued) as url:
        assert rules_of(tmp_path, ServiceEndpoint("api", url)) == {}


def test_a_badly_configured_https_service(tmp_path: Path) -> None:
    issued = certificate(
        tmp_path,
        "bad",
        names=("other.example",),
        not_after=NOW - datetime.timedelta(days=3),
    )
    headers = {"Server": "Werkzeug/2.0.1 Python/3.11.7", "X-Powered-By": "PHP/8.1.2"}
    with web_server(headers, issued, legacy_tls=True) as url:
        found = rules_of(tmp_path, ServiceEndpoint("api", url))
    assert set(found) == {
        "runtime.old-tls-version",
        "runtime.certificate-expired",
        "runtime.certificate-self-signed",
        "runtime.certificate-hostname-mismatch",
        "runtime.missing-hsts",
        "runtime.missing-content-type-options",
        "runtime.missing-frame-protection",
        "runtime.missing-csp",
        "runtime.missing-referrer-policy",
        "runtime.server-version-disclosure",
    }
    assert len(found["runtime.server-version-disclosure"]) == 2  # Server and X-Powered-By
    assert "accepts TLSv1" in found["runtime.old-tls-version"][0]
    assert "other.example, not 127.0.0.1" in found["runtime.certificate-hostname-mismatch"][0]


def test_expiring_certificate_and_the_name_clients_use(tmp_path: Path) -> None:
    ca = authority()
    issued = certificate(
        tmp_path, "soon", names=("notes.test",), not_after=NOW + datetime.timedelta(days=10), ca=ca
    )
    with web_server(GOOD_HEADERS, issued) as url:
        endpoint = ServiceEndpoint("api", url, hostname="notes.test")
        found = rules_of(tmp_path, endpoint)
    assert set(found) == {"runtime.certificate-expiring"}, found
    assert (
        "(9 days)" in found["runtime.certificate-expiring"][0]
        or "(10 days)" in (found["runtime.certificate-expiring"][0])
    )


def test_plain_http_headers(tmp_path: Path) -> None:
    with web_server({"X-Frame-Options": "DENY", "Server": "notes"}) as url:
        found = rules_of(tmp_path, ServiceEndpoint("api", url))
    # No TLS: nothing about certificates, and HSTS means nothing over plain HTTP.
    assert set(found) == {
        "runtime.missing-content-type-options",
        "runtime.missing-csp",
        "runtime.missing-referrer-policy",
    }


def test_a_service_that_does_not_answer_is_a_finding(tmp_path: Path) -> None:
    found = rules_of(tmp_path, ServiceEndpoint("api", f"http://127.0.0.1:{free_port()}"))
    assert set(found) == {"runtime.service-unreachable"}


def test_undeclared_listening_ports_of_the_process_tree(tmp_path: Path) -> None:
    private, extra = free_port(), free_port()
    with web_server(GOOD_HEADERS) as url, listening_tree(private, extra) as process:
        port = int(url.rsplit(":", 1)[1])
        endpoint = ServiceEndpoint("api", url, pids=(process.pid,), declared_ports=(port, private))
        found = rules_of(tmp_path, endpoint)
        assert list(found) == ["runtime.undeclared-port"], found
        (title,) = found["runtime.undeclared-port"]
        assert f"127.0.0.1:{extra}" in title and str(private) not in title
        wider = ServiceEndpoint("api", url, pids=(process.pid,), declared_ports=(private, extra))
        assert rules_of(tmp_path, wider) == {}


@pytest.mark.parametrize("names", [("*.notes.test",), ("a.notes.test", "10.0.0.1")])
def test_certificate_name_matching(names: tuple[str, ...], tmp_path: Path) -> None:
    from cryptography import x509

    from shipway.scanner.runtime.tls import certificate_names, matches

    issued = certificate(tmp_path, "names", names=names)
    cert = x509.load_pem_x509_certificate(issued.cert.read_bytes())
    listed = certificate_names(cert)
    assert matches("a.notes.test", listed)
    assert not matches("a.b.notes.test", listed) and not matches("notes.test", listed)


def test_risk_rises_for_services_on_every_interface(tmp_path: Path) -> None:
    from shipway.scanner.risk import RiskContext, assess

    with web_server({}) as url:
        (finding, *_) = RuntimeScanner().scan(
            ScanTarget(tmp_path, services=(ServiceEndpoint("api", url),))
        )
    port = int(url.rsplit(":", 1)[1])
    exposed, reasons = assess(finding, RiskContext(exposed_ports=(port,)))
    local, _ = assess(finding, RiskContext(exposed_ports=(port + 1,)))
    assert exposed == local + 0.5
    assert "the service listens on every interface (+0.5)" in reasons
