"""One deployment per environment: a second deploy exits 3 naming the holder, or waits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from shipway.store import Store
from shipway.store.tables import leases
from tests.orchestrator.harness import Project


def test_second_deploy_exits_3_naming_the_holder(project: Project) -> None:
    project.control({"sleep": {"validate": 3}})
    first = project.spawn("deploy", "-e", "dev", "--output", "json")
    project.wait_for_line("started.log", "validate")
    second = project.run("deploy", "-e", "dev")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    holder = json.loads(out)["deployment_id"]
    assert second.returncode == 3, second.stderr
    assert holder in second.stderr
    assert project.lines("effects.log").count("validate") == 1


def test_concurrent_deploys_exactly_one_runs(sqlite_project: Project) -> None:
    project = sqlite_project
    project.control({"sleep": {"validate": 2}})
    project.run("agent", "start")
    procs = [project.spawn("deploy", "-e", "dev", "--output", "json") for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert sorted(codes) == [0, 3, 3], outputs
    assert project.lines("effects.log").count("validate") == 1


def test_wait_queues_behind_the_holder(sqlite_project: Project) -> None:
    project = sqlite_project
    project.control({"sleep": {"provision": 2}})
    first = project.spawn("deploy", "-e", "dev", "--output", "json")
    project.wait_for_line("started.log", "provision")
    second = project.run("deploy", "-e", "dev", "--wait", "--output", "json")
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode == 0, second.stderr
    effects = project.lines("effects.log")
    # the second run starts only after the first one has finished every stage
    assert effects[:7].count("observe") == 1 and effects[6] == "observe"
    assert len(effects) == 14
    first_id = json.loads(out)["deployment_id"]
    second_id = json.loads(second.stdout)["deployment_id"]
    assert project.event_types(second_id).index("LEASE_ACQUIRED") > 0
    assert first_id != second_id


def test_wait_gives_up_after_its_deadline(sqlite_project: Project) -> None:
    project = sqlite_project
    project.control({"sleep": {"validate": 12}})
    first = project.spawn("deploy", "-e", "dev")
    project.wait_for_line("started.log", "validate")
    second = project.run("deploy", "-e", "dev", "--wait", "1")
    assert second.returncode == 3, second.stderr
    assert first.poll() is None  # it gave up without waiting for the holder to finish
    assert "gave up" in second.stderr
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert project.lines("effects.log").count("validate") == 1


def test_lease_of_a_dead_holder_is_taken_over(sqlite_project: Project) -> None:
    project = sqlite_project
    store = Store.open(project.state_url)
    try:
        store.leases.acquire("demo/dev", "dev-ghost", 120.0)
    finally:
        store.close()
    blocked = project.run("deploy", "-e", "dev")
    assert blocked.returncode == 3
    assert "dev-ghost" in blocked.stderr
    # Its holder died long ago: the lease runs out (as if 120 s had passed).
    store = Store.open(project.state_url)
    try:
        with store.db.write() as conn:
            conn.execute(
                leases.update()
                .where(leases.c.key == "demo/dev")
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        store.close()
    done = project.run("deploy", "-e", "dev")
    assert done.returncode == 0, done.stderr
    store = Store.open(project.state_url)
    try:
        assert store.leases.get("demo/dev") is None or store.leases.get(
            "demo/dev"
        ).expires_at < datetime.now(UTC) + timedelta(seconds=60)
    finally:
        store.close()
