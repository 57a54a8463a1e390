"""The alerting parts of the manifest: defaults, and bad rules or channels rejected at
load time with file:line:col."""

from __future__ import annotations

import pytest

from shipway.errors import ManifestError
from shipway.manifest import load_manifest_text, resolve_environment

HEAD = """version: 1
project: notes
environments:
  dev: {target: local}
services:
  api: {run: python -m http.server, port: 8080}
monitoring:
"""


def load(monitoring: str) -> object:
    loaded = load_manifest_text(HEAD + monitoring, "shipway.yaml")
    return resolve_environment(loaded, "dev").monitoring


def test_defaults_are_alertmanagers() -> None:
    spec = load("  alerts:\n    - {name: Up, expr: up == 0}\n")
    alerting = spec.alerting  # type: ignore[attr-defined]
    assert alerting.group_by == ["alertname"]
    assert (alerting.group_wait, alerting.group_interval, alerting.repeat_interval) == (
        30,
        300,
        14400,
    )
    assert spec.evaluation_interval == 15  # type: ignore[attr-defined]


def test_a_full_section_loads() -> None:
    spec = load(
        """  evaluation_interval: 5s
  alerts:
    - name: Errors
      log: {pattern: "ERROR", service: api, window: 30s, rate: 2/m}
      labels: {team: "{{ $labels.service }}"}
      notify: [mail]
  notify:
    mail:
      email:
        to: [a@example.com]
        from: b@example.com
        host: smtp.example.com
        username: alerts
        password: ${secret:smtp_password}
  alerting: {group_by: ['...'], group_wait: 1s}
"""
    )
    (rule,) = spec.alerts  # type: ignore[attr-defined]
    assert rule.log.rate == pytest.approx(2 / 60) and rule.log.window == 30
    mail = spec.notify["mail"]  # type: ignore[attr-defined]
    assert mail.email.port == 587 and mail.email.starttls and not mail.email.tls
    assert mail.send_resolved is None and mail.timeout == 10


@pytest.mark.parametrize(
    ("monitoring", "where", "message"),
    [
        (
            "  alerts:\n    - {name: X, expr: up, annotations: {s: '{{ .Value }}'}}\n",
            ":9:",
            "unsupported template",
        ),
        ("  alerts:\n    - {name: X}\n", ":9:", "exactly one of: expr, log"),
        (
            "  alerts:\n    - {name: X, expr: up, log: {pattern: a, count: 1}}\n",
            ":9:",
            "exactly one of: expr, log",
        ),
        (
            "  alerts:\n    - name: X\n      log: {pattern: 'a(', count: 1}\n",
            ":10:",
            "invalid regular expression",
        ),
        (
            "  alerts:\n    - name: X\n      log: {pattern: a, count: 1, rate: 1/s}\n",
            ":10:",
            "exactly one of: count, rate",
        ),
        (
            "  notify:\n    m:\n      email: {to: [a@x], from: b@x, host: h, password: hunter2}\n",
            ":10:",
            "${secret:NAME} reference",
        ),
        (
            "  notify:\n    m:\n      email: {to: [a@x], from: b@x, host: h, tls: true}\n",
            ":10:",
            "either tls",
        ),
        ("  alerting: {group_wait: soon}\n", ":8:", "invalid duration"),
        ("  alerting:\n    group_interval: 0s\n", ":9:", "group_interval must be longer"),
    ],
)
def test_bad_sections_fail_with_a_position(monitoring: str, where: str, message: str) -> None:
    with pytest.raises(ManifestError) as failed:
        load(monitoring)
    text = str(failed.value)
    assert text.startswith("shipway.yaml" + where), text
    assert message in text
    assert "hunter2" not in text
