"""Issue 9, "Must be shown by tests": an alert goes pending, firing, then resolved as the
test drives the example's error rate up and down, through the real agent.

The example (examples/notes) is deployed through the real CLI with a manifest that has
the agent scrape its /metrics every second and a rule on the rate of 4xx responses. The
test requests missing notes (404s) in a loop: the alert goes pending, then firing, and a
webhook server and an SMTP server (aiosmtpd), both started here, receive the firing
notification; the test stops the 404s: the alert resolves and the webhook receives the
resolved notification (email does not send resolved ones, as in Alertmanager).
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipway.errors import ShipwayError
from shipway.monitor.query import instant_query
from shipway.store import Store
from tests.runtime.deployed import DeployedProject

from ..notify.servers import RecordingHttpServer, SmtpServer, http_server, smtp_server

pytestmark = pytest.mark.timeout(420)

RULE = 'sum(rate(http_requests_total{status=~"4.."}[10s])) > 1'


def monitoring(webhook: str, smtp_port: int) -> str:
    return f"""
monitoring:
  scrape:
    - service: api
      path: /metrics
      interval: 1s
  evaluation_interval: 1s
  alerts:
    - name: TooMany4xx
      expr: '{RULE}'
      for: 4s
      severity: warning
      notify: [hook, mail]
      labels:
        team: notes
      annotations:
        summary: "{{{{ $value }}}} missing notes per second"
  notify:
    hook:
      webhook: {webhook}/alerts
    mail:
      email:
        to: [oncall@example.com]
        from: shipway@example.com
        host: 127.0.0.1
        port: {smtp_port}
        starttls: false
  alerting:
    group_wait: 1s
    group_interval: 2s
    repeat_interval: 1h
"""


class MissingNotes:
    """GET /notes/NNN for notes that do not exist (404) about 20 times a second."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MissingNotes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        number = 900_000
        while not self._stop.wait(0.05):
            number += 1
            try:
                with urllib.request.urlopen(f"{self.url}/notes/{number}", timeout=5) as reply:
                    status = reply.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            self.statuses[status] = self.statuses.get(status, 0) + 1


@pytest.fixture
def servers() -> Iterator[tuple[RecordingHttpServer, SmtpServer]]:
    with http_server() as webhook, smtp_server() as smtp:
        yield webhook, smtp


def diagnosis(store: Store, root: Path) -> str:
    """What the agent saw, for a failure message: the rule's value and its log's tail."""
    try:
        value = instant_query(store, "notes", "dev", RULE.replace(" > 1", ""), time.time())
    except ShipwayError as exc:
        value = f"query failed: {exc}"  # type: ignore[assignment]
    log = root / ".shipway" / "logs" / "agent.log"
    tail = log.read_text()[-3000:] if log.exists() else "(no agent log)"
    return f"rate now: {value}; agent log tail:\n{tail}"


def states_seen(
    store: Store, seen: list[str], until: str, timeout: float, root: Path | None = None
) -> None:
    """Poll the alert's state into `seen` (each change once) until it is `until`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = store.alerts.instances("notes", "dev", rule="TooMany4xx")
        state = found[0].state if found else "inactive"
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == until:
            return
        time.sleep(0.1)
    extra = "" if root is None else "; " + diagnosis(store, root)
    raise AssertionError(f"alert never became {until}; states seen: {seen}{extra}")


def test_alert_pending_firing_resolved_through_the_agent(
    tmp_path: Path, servers: tuple[RecordingHttpServer, SmtpServer]
) -> None:
    webhook, smtp = servers
    project = DeployedProject(tmp_path / "notes")
    project.edit(lambda text: text.rstrip("\n") + "\n" + monitoring(webhook.url, smtp.port))
    try:
        done = project.deploy()
        assert done.returncode == 0, done.stderr + done.stdout
        seen: list[str] = []
        with Store.open(f"sqlite:///{project.root / '.shipway' / 'state.db'}") as store:
            states_seen(store, seen, "inactive", 5)  # nothing fires on a quiet service
            with MissingNotes(project.url) as traffic:
                states_seen(store, seen, "firing", 120, project.root)
                webhook.wait_for(lambda got: any(r.body["status"] == "firing" for r in got), 60)
                deadline = time.monotonic() + 60
                while not smtp.mails and time.monotonic() < deadline:
                    time.sleep(0.1)
            assert traffic.statuses.get(404, 0) > 20, traffic.statuses
            assert seen[-3:] == ["inactive", "pending", "firing"], seen
            states_seen(store, seen, "resolved", 120, project.root)
            webhook.wait_for(lambda got: any(r.body["status"] == "resolved" for r in got), 60)
            # The attempt is recorded once the server has answered: wait for the row.
            deadline = time.monotonic() + 30
            while len(store.alerts.attempts("notes", "dev")) < 3:
                assert time.monotonic() < deadline, store.alerts.attempts("notes", "dev")
                time.sleep(0.1)
            attempts = store.alerts.attempts("notes", "dev")
        firing = next(r for r in webhook.received if r.body["status"] == "firing")
        assert firing.path == "/alerts"
        body = firing.body
        assert body["version"] == "4" and body["receiver"] == "hook"
        assert body["groupLabels"] == {"alertname": "TooMany4xx"}
        (alert,) = body["alerts"]
        assert alert["status"] == "firing"
        assert alert["labels"] == {
            "alertname": "TooMany4xx",
            "severity": "warning",
            "team": "notes",
        }
        assert alert["annotations"]["summary"].endswith("missing notes per second")
        assert float(alert["annotations"]["summary"].split()[0]) > 1
        assert alert["endsAt"] == "0001-01-01T00:00:00Z"
        resolved = next(r for r in webhook.received if r.body["status"] == "resolved")
        (gone,) = resolved.body["alerts"]
        assert gone["status"] == "resolved" and gone["fingerprint"] == alert["fingerprint"]
        assert gone["endsAt"] > gone["startsAt"] == alert["startsAt"]
        assert [r.body["status"] for r in webhook.received] == ["firing", "resolved"]
        (mail,) = smtp.mails
        assert mail.recipients == ["oncall@example.com"]
        assert mail.message["Subject"] == "[FIRING:1] TooMany4xx (notes warning)"
        assert "missing notes per second" in mail.message.get_payload()
        sent = sorted((a.channel, a.status, a.outcome) for a in attempts)
        assert sent == [
            ("hook", "firing", "sent"),
            ("hook", "resolved", "sent"),
            ("mail", "firing", "sent"),
        ]
        listed = project.json("alerts", "list", "-e", "dev")
        assert [(a["rule"], a["state"]) for a in listed] == [("TooMany4xx", "resolved")]
        agent_log = (project.root / ".shipway" / "logs" / "agent.log").read_text()
        assert "alerts:" not in agent_log  # the collector reported no problem
    finally:
        project.close()
