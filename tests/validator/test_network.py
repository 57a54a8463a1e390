"""Network checks against real sockets and servers on 127.0.0.1."""

from __future__ import annotations

import datetime
import json
import os
import ssl
from pathlib import Path

import psutil

from .conftest import (
    PASSWORD,
    USER,
    free_port,
    listening,
    make_cert,
    only,
    run_validation,
    silent_port,
    validate_body,
    web_server,
    write_manifest,
)


def test_a_held_port_names_the_pid_that_holds_it(tmp_path: Path) -> None:
    with listening() as port:
        result = only(
            validate_body(tmp_path, f"requirements:\n  network:\n    - port_free: {port}\n")
        )
    me = psutil.Process(os.getpid()).name()
    assert result.status == "fail"
    assert f"pid {os.getpid()} ({me})" in result.observed
    assert result.remedy == f"free port {port}: held by pid {os.getpid()} ({me})"
    assert result.facts["pid"] == os.getpid() and result.facts["free"] is False


def test_a_port_nobody_listens_on_is_free(tmp_path: Path) -> None:
    port = free_port()
    result = only(validate_body(tmp_path, f"requirements:\n  network:\n    - port_free: {port}\n"))
    assert (result.status, result.observed, result.remedy) == ("pass", "free", "")


def test_a_port_held_by_shipways_own_agent_is_the_projects(tmp_path: Path) -> None:
    with listening() as port:
        path = write_manifest(tmp_path, f"requirements:\n  network:\n    - port_free: {port}\n")
        result = only(run_validation(path, own_pids=frozenset({os.getpid()})))
    assert result.status == "pass"
    assert result.observed == f"held by this shipway agent (pid {os.getpid()})"


def test_tcp_connects_and_reports_latency(tmp_path: Path) -> None:
    with listening() as port:
        body = f"requirements:\n  network:\n    - tcp: 127.0.0.1:{port}\n      max_latency: 2s\n"
        result = only(validate_body(tmp_path, body))
    assert result.status == "pass", result
    assert result.observed.startswith("connected in ")
    assert 0 < result.facts["latency_ms"] < 2000


def test_a_refused_port_fails_at_once(tmp_path: Path) -> None:
    port = free_port()
    body = f"requirements:\n  network:\n    - tcp: 127.0.0.1:{port}\n      timeout: 3s\n"
    result = only(validate_body(tmp_path, body))
    assert result.status == "fail"
    assert result.observed == "Connection refused"
    assert result.seconds < 1.5
    assert f"127.0.0.1:{port}" in result.remedy


def test_an_unanswering_port_fails_within_its_timeout(tmp_path: Path) -> None:
    with silent_port() as port:
        body = f"requirements:\n  network:\n    - tcp: 127.0.0.1:{port}\n      timeout: 500ms\n"
        result = only(validate_body(tmp_path, body))
    assert result.status == "fail"
    assert result.observed == "no answer within 500ms"
    assert 0.45 <= result.seconds < 1.0


def test_required_false_makes_a_failure_a_warning(tmp_path: Path) -> None:
    port = free_port()
    body = f"requirements:\n  network:\n    - tcp: 127.0.0.1:{port}\n      required: false\n"
    report = validate_body(tmp_path, body)
    assert only(report).status == "warn"
    assert report.passed


def test_http_status_and_body(tmp_path: Path) -> None:
    with web_server() as port:
        base = f"http://127.0.0.1:{port}"
        body = f"""requirements:
  network:
    - http: {base}/health
      expect_body: '"status": "healthy"'
    - http: {base}/health
      expect_body: "sick"
    - http: {base}/teapot
      expect_status: 200
    - http: {base}/teapot
      expect_status: 418
"""
        report = validate_body(tmp_path, body)
    healthy, sick, teapot, expected_teapot = report.results
    assert healthy.status == "pass" and healthy.observed.startswith("200 in ")
    assert sick.status == "fail" and sick.observed.endswith("body does not match")
    assert "'sick'" in sick.remedy
    assert teapot.status == "fail" and teapot.remedy == "it answers 418, 200 expected"
    assert expected_teapot.status == "pass" and expected_teapot.facts["status"] == 418


def test_credentials_in_a_url_are_sent_but_never_shown(tmp_path: Path) -> None:
    with web_server() as port:
        body = f"""requirements:
  network:
    - http: http://{USER}:{PASSWORD}@127.0.0.1:{port}/private
    - http: http://{USER}:wrong@127.0.0.1:{port}/private
"""
        report = validate_body(tmp_path, body)
    right, wrong = report.results
    assert right.status == "pass" and wrong.status == "fail" and wrong.facts["status"] == 401
    assert right.check == f"http http://{USER}:***@127.0.0.1:{port}/private"
    assert PASSWORD not in json.dumps(report.to_dict())


def test_https_with_an_untrusted_certificate(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, valid_for=datetime.timedelta(days=90))
    with web_server(cert) as port:
        body = f"""requirements:
  network:
    - http: https://127.0.0.1:{port}/health
    - http: https://127.0.0.1:{port}/health
      verify: false
"""
        verified, unverified = validate_body(tmp_path, body).results
    assert verified.status == "fail"
    assert verified.observed.startswith("certificate not trusted: ")
    assert "self-signed" in verified.observed or "self signed" in verified.observed
    assert unverified.status == "pass" and unverified.facts["status"] == 200


def test_a_certificate_expiring_in_3_days_fails_with_the_days_left(tmp_path: Path) -> None:
    # 3 days and an hour: whole days left is 3 however long the check takes.
    cert = make_cert(tmp_path, valid_for=datetime.timedelta(days=3, hours=1))
    with web_server(cert) as port:
        body = f"""requirements:
  network:
    - tls: 127.0.0.1:{port}
      ca_file: cert.pem
"""
        result = only(validate_body(tmp_path, body))
    assert result.status == "fail"
    assert result.expected == "certificate valid for >= 14 days"
    assert f"expires {cert.not_after:%Y-%m-%d}, in 3 days" == result.observed
    assert result.facts["days_left"] == 3
    assert result.remedy == f"renew the certificate of 127.0.0.1:{port}: 3 days left, 14 required"


def test_a_trusted_certificate_with_days_to_spare_passes(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, valid_for=datetime.timedelta(days=40, hours=1))
    with web_server(cert) as port:
        body = f"""requirements:
  network:
    - tls: 127.0.0.1:{port}
      ca_file: cert.pem
      min_days: 30
    - tls: 127.0.0.1:{port}
"""
        trusted, untrusted = validate_body(tmp_path, body).results
    assert trusted.status == "pass" and trusted.facts["days_left"] == 40
    assert untrusted.status == "fail" and "not trusted" in untrusted.observed
    assert untrusted.facts["days_left"] == 40  # the dates are read even when untrusted


def test_an_expired_certificate(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, valid_for=-datetime.timedelta(days=2), started_ago=30)
    with web_server(cert) as port:
        body = f"requirements:\n  network:\n    - tls: 127.0.0.1:{port}\n      verify: false\n"
        result = only(validate_body(tmp_path, body))
    assert result.status == "fail"
    assert result.observed == f"expired on {cert.not_after:%Y-%m-%d}"


def test_tls_against_a_plain_http_server(tmp_path: Path) -> None:
    with web_server() as port:
        body = f"""requirements:
  network:
    - tls: 127.0.0.1:{port}
    - http: https://127.0.0.1:{port}/health
    - tcp: no-such-host.invalid:80
      timeout: 2s
"""
        tls, https, unresolved = validate_body(tmp_path, body).results
    assert tls.status == "fail" and tls.observed.startswith("TLS handshake failed: ")
    assert https.status == "fail" and https.observed.startswith("TLS handshake failed: ")
    assert unresolved.status == "fail"
    assert unresolved.observed.startswith("cannot resolve the name: ") or (
        unresolved.observed == "no answer within 2s"  # a resolver that never answers
    )


def test_tls_minimum_protocol_version(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, valid_for=datetime.timedelta(days=90))
    with web_server(cert, minimum=ssl.TLSVersion.TLSv1_2) as port:
        body = f"""requirements:
  security:
    - tls_protocol: 127.0.0.1:{port}
      min_version: "1.2"
    - tls_protocol: 127.0.0.1:{port}
      min_version: "1.3"
"""
        enough, too_old = validate_body(tmp_path, body).results
    assert enough.status == "pass", enough
    assert "1.2" in enough.facts["accepted"] and "1.1" not in enough.facts["accepted"]
    assert too_old.status == "fail"
    assert too_old.remedy.startswith(f"disable TLS 1.2 on 127.0.0.1:{port}")


def test_dns(tmp_path: Path) -> None:
    body = """requirements:
  network:
    - dns: localhost
    - dns: no-such-host.invalid
      timeout: 3s
"""
    found, missing = validate_body(tmp_path, body).results
    assert found.status == "pass"
    assert any(a in found.facts["addresses"] for a in ("127.0.0.1", "::1"))
    assert missing.status == "fail"
    assert missing.observed in ("does not resolve", "no answer within 3s")
