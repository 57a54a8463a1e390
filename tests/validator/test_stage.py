"""The pipeline's validate stage: registered, described, cancellable, and run by the real
agent, where a failed required check stops the deployment and observed facts are kept."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from shipway.errors import StageError
from shipway.manifest import load_manifest, resolve_environment
from shipway.models import DeploymentContext
from shipway.orchestrator.events import STAGE_COMPLETION_EVENTS
from shipway.orchestrator.stages import StageCancelledError, StageContext, registry
from shipway.store import Store
from shipway.validator.stage import ValidateStage

from .conftest import (
    free_port,
    held_by_child,
    listening,
    shipway,
    silent_port,
    write_manifest,
)


def _context(path: Path, *, cancel: threading.Event | None = None) -> StageContext:
    loaded = load_manifest(path)
    return StageContext(
        deployment=DeploymentContext("d-1", "dev", "c-1", "tester", loaded.digest),
        loaded=loaded,
        environment=resolve_environment(loaded, "dev"),
        home=path.parent / ".shipway",
        kind="deploy",
        attempt=1,
        _emit=lambda *args: None,
        _register=lambda data: None,
        _cancel=cancel or threading.Event(),
    )


def test_the_stage_is_registered_as_validate() -> None:
    stage = registry.get("validate")
    assert stage is ValidateStage
    assert stage.completed_event == STAGE_COMPLETION_EVENTS["validate"] == "VALIDATION_COMPLETED"


def test_describe_and_configured(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path,
        "requirements:\n  hardware: {cpus: 1}\n  network:\n    - port_free: 1\n    - dns: a.b\n",
    )
    environment = resolve_environment(load_manifest(path), "dev")
    stage = ValidateStage()
    assert stage.configured(environment)
    assert stage.describe(environment) == [
        "check 3 requirements (hardware 1, network 2) on this machine"
    ]
    bare = resolve_environment(load_manifest(write_manifest(tmp_path, "")), "dev")
    assert not stage.configured(bare)


def test_run_keeps_facts_and_fails_on_a_required_check(tmp_path: Path) -> None:
    port = free_port()
    path = write_manifest(tmp_path, f"requirements:\n  network:\n    - port_free: {port}\n")
    outcome = ValidateStage().run(_context(path))
    assert outcome.status == "succeeded" and outcome.message == "1 passed, 0 warnings, 0 failed"
    assert outcome.outputs["facts"] == {"local": {f"port {port}": {"free": True}}}
    json.dumps(outcome.outputs)  # stored as JSON
    # In the agent, a port the agent itself holds is the project's; another process's is not.
    with listening() as own:
        path = write_manifest(tmp_path, f"requirements:\n  network:\n    - port_free: {own}\n")
        outcome = ValidateStage().run(_context(path))
    assert outcome.outputs["results"][0]["observed"].startswith("held by this shipway agent")
    with held_by_child() as (held, pid), pytest.raises(StageError) as caught:
        path = write_manifest(tmp_path, f"requirements:\n  network:\n    - port_free: {held}\n")
        ValidateStage().run(_context(path))
    assert str(caught.value).startswith(
        f"1 required check failed: port {held}: free port {held}: held by pid {pid} "
    )


def test_a_cancelled_stage_stops_waiting(tmp_path: Path) -> None:
    cancel = threading.Event()
    with silent_port() as port:
        path = write_manifest(
            tmp_path,
            f"requirements:\n  network:\n    - tcp: 127.0.0.1:{port}\n      timeout: 30s\n",
        )
        threading.Timer(0.3, cancel.set).start()
        with pytest.raises(StageCancelledError):
            ValidateStage().run(_context(path, cancel=cancel))


def test_the_agent_runs_it_in_the_pipeline(tmp_path: Path) -> None:
    with listening() as port:
        write_manifest(
            tmp_path,
            f"requirements:\n  software:\n    - command: sh\n  network:\n    - port_free: {port}\n",
        )
        try:
            blocked = shipway("deploy", "-e", "dev", "--output", "json", cwd=tmp_path, timeout=120)
            assert blocked.returncode == 1, blocked.stdout + blocked.stderr
            failed = json.loads(blocked.stdout)
            validate = next(s for s in failed["stages"] if s["stage"] == "validate")
            assert validate["status"] == "failed"
            assert f"free port {port}: held by pid" in validate["error"]
        finally:
            port_was = port
    # The port is free now: the same manifest deploys, and later stages see the facts.
    try:
        done = shipway("deploy", "-e", "dev", "--output", "json", cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        deployment_id = json.loads(done.stdout)["deployment_id"]
        store = Store.open(f"sqlite:///{tmp_path / '.shipway' / 'state.db'}")
        try:
            runs = {run.stage: run for run in store.stage_runs.list(deployment_id)}
        finally:
            store.close()
        facts = runs["validate"].outputs["facts"]["local"]
        assert facts[f"port {port_was}"] == {"free": True}
        assert facts["command sh"]["path"].endswith("/sh")
    finally:
        shipway("agent", "stop", cwd=tmp_path, timeout=60)
