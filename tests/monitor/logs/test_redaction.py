"""Redaction at ingestion: credential shapes (cases/redaction.json), and a planted secret
set through the local secret backend, read the way a process start reads it, that never
reaches the state database, in any form the line carried it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import SecretStr

from shipway.config.delivery import backend_for
from shipway.config.secrets.keys import new_master_key
from shipway.monitor.logs import LogQuery, log_repository
from shipway.monitor.logs.ingest import SourceLabels, ingest
from shipway.monitor.logs.redaction import Redactor, release_redactor, release_secret_names
from shipway.store import open_store

CASES = json.loads((Path(__file__).parent / "cases" / "redaction.json").read_text())
CANARY = "CANARY/logs+7f3a9c1e5b2d"


@pytest.mark.parametrize("case", CASES, ids=[c["line"][:40] for c in CASES])
def test_credential_shapes_are_redacted(case: dict[str, str]) -> None:
    assert Redactor().redact(case["line"]) == case["expected"]


def test_short_values_are_not_redacted_by_value() -> None:
    redactor = Redactor({"PIN": "42", "TOKEN": SecretStr("abcdef")})
    assert redactor.redact("answer 42 abcdef") == "answer 42 [REDACTED:TOKEN]"
    assert "abcdef" not in repr(redactor) and repr(redactor) == "Redactor(names=['PIN', 'TOKEN'])"


def _release(tmp_path: Path) -> dict[str, Any]:
    source = {
        "backend": "local",
        "settings": {},
        "project": "shop",
        "environment": "dev",
        "base_dir": str(tmp_path),
        "home": str(tmp_path / ".shipway"),
    }
    return {
        "api": {
            "run": "python -m api --port ${port}",
            "env": {"DATABASE_URL": "postgresql://app:${secret:db_password}@db/notes"},
            "health": {"command": None},
            "file_scope": {"config": {"token": "${secret:api_token}"}},
            "secret_source": source,
        },
        "worker": {"run": "python -m worker", "env": {}, "secret_source": source},
    }


def test_a_planted_secret_never_reaches_the_state_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWAY_MASTER_KEY", new_master_key())
    services = _release(tmp_path)
    backend = backend_for(services["api"]["secret_source"])
    backend.set("db_password", SecretStr(CANARY))
    backend.set("api_token", SecretStr('tok"en\\with/quotes'))
    assert release_secret_names(services) == ["db_password", "api_token"]
    redactor = release_redactor(services)

    raw = [
        f"connecting with {CANARY}",
        json.dumps({"level": "error", "msg": "auth failed", "secret_used": CANARY}),
        json.dumps({"level": "info", "msg": "token is", "t": 'tok"en\\with/quotes'}),
        f"level=warn dsn=postgresql://app:{CANARY}@db/notes",
        f"GET /cb?next={quote(CANARY, safe='')} from a form",
        "nothing secret here",
    ]
    state = tmp_path / "state"
    with open_store(f"sqlite:///{state / 'state.db'}") as store:
        logs = log_repository(store)
        labels = SourceLabels("shop", "dev", "api", "/l/api.log", "shop-dev-r1", "auto")
        logs.append(ingest(raw, labels, redactor, 1.0))
        stored = logs.search(LogQuery("shop", "dev", limit=100))
        found = logs.search(LogQuery("shop", "dev", search="REDACTED"))
    messages = [line.message for line in stored]
    assert messages[0] == "connecting with [REDACTED:db_password]"
    assert stored[1].level == "error" and stored[1].fields["secret_used"] == (
        "[REDACTED:db_password]"
    )
    assert stored[2].fields["t"] == "[REDACTED:api_token]"
    assert "[REDACTED:db_password]" in messages[3]
    assert messages[4] == "GET /cb?next=[REDACTED:db_password] from a form"
    assert messages[5] == "nothing secret here"
    assert len(found) == 5
    assert not any(CANARY in m for m in messages)
    # the grep: every file of the state database (WAL included) holds no trace of it
    files = [p for p in state.iterdir() if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert CANARY.encode() not in data, path.name
        assert b"7f3a9c1e5b2d" not in data, path.name
        assert b"en\\\\with/quotes" not in data and b'en\\"with' not in data, path.name


def test_a_rotated_secret_keeps_its_old_value_redacted() -> None:
    before = Redactor({"DB": "old-value-1234"})
    after = Redactor({"DB": "new-value-5678", "API": "api-value-0000"}).including(before)
    line = "old-value-1234 new-value-5678 api-value-0000"
    assert after.redact(line) == "[REDACTED:DB] [REDACTED:DB] [REDACTED:API]"
    assert repr(after) == "Redactor(names=['API', 'DB'])"
