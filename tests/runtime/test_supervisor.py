"""The supervisor with real processes: output to files, crash loops, memory limits,
process groups, adoption after an agent restart, log rotation."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from shipway.runtime.supervisor import ProcessSpec, RestartPolicy, Supervisor, SupervisorError


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path / "run", poll_interval=0.05)
    yield sup
    sup.stop_all(timeout=5)
    sup.close()


def spec(tmp_path: Path, name: str, code: str, **kwargs: object) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        command=[sys.executable, "-c", code],
        cwd=str(tmp_path),
        env={"PATH": os.environ.get("PATH", ""), "GREETING": "hello"},
        log_file=str(tmp_path / "logs" / f"{name.replace('/', '_')}.log"),
        **kwargs,
    )  # type: ignore[arg-type]


def wait_until(check: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


SLEEPER = "import os, time; print(os.environ['GREETING'], flush=True); time.sleep(600)"


def test_runs_with_env_and_output_in_its_log(supervisor: Supervisor, tmp_path: Path) -> None:
    status = supervisor.start(spec(tmp_path, "p/api/r1", SLEEPER))
    assert status.state == "running"
    assert psutil.pid_exists(status.pid)
    log = tmp_path / "logs" / "p_api_r1.log"
    wait_until(lambda: log.exists() and "hello" in log.read_text())
    with pytest.raises(SupervisorError):
        supervisor.start(spec(tmp_path, "p/api/r1", SLEEPER))


def test_three_crashes_in_a_row_are_a_crash_loop(supervisor: Supervisor, tmp_path: Path) -> None:
    policy = RestartPolicy(backoff=0.05, max_backoff=0.2, crash_loop_after=3)
    supervisor.start(
        spec(tmp_path, "p/bad", "import sys; print('boom'); sys.exit(3)", restart=policy)
    )
    wait_until(lambda: supervisor.status("p/bad")[0].state == "crash_loop")
    status = supervisor.status("p/bad")[0]
    assert status.consecutive_crashes >= 3
    assert status.restarts >= 2
    assert status.last_exit == "exited with code 3"


def test_memory_limit_kills_and_reports(supervisor: Supervisor, tmp_path: Path) -> None:
    hog = (
        "import time; b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(60)"
    )
    supervisor.start(
        spec(tmp_path, "p/hog", hog, memory_limit=100 * 2**20, restart=RestartPolicy(backoff=30))
    )
    wait_until(lambda: (supervisor.status("p/hog")[0].last_exit or "").startswith("killed: memory"))
    assert "over its limit 100 MiB" in (supervisor.status("p/hog")[0].last_exit or "")


def test_stop_ends_the_whole_process_group(supervisor: Supervisor, tmp_path: Path) -> None:
    parent = (
        "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', "
        "'import time; time.sleep(600)']); time.sleep(600)"
    )
    status = supervisor.start(spec(tmp_path, "p/tree", parent))
    wait_until(lambda: len(psutil.Process(status.pid).children()) == 1)
    child = psutil.Process(status.pid).children()[0].pid
    supervisor.stop("p/tree", timeout=3)
    assert not psutil.pid_exists(status.pid)
    wait_until(lambda: not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie")
    assert supervisor.status("p/tree") == []
    assert list((tmp_path / "run").glob("*.json")) == []


def test_a_new_supervisor_adopts_what_the_old_one_left(tmp_path: Path) -> None:
    first = Supervisor(tmp_path / "run", poll_interval=0.05)
    status = first.start(spec(tmp_path, "p/api/r2", SLEEPER))
    first.close()  # the agent dies; its service does not
    assert psutil.pid_exists(status.pid)
    second = Supervisor(tmp_path / "run", poll_interval=0.05)
    try:
        adopted = second.adopt()
        assert [(s.name, s.pid, s.state) for s in adopted] == [("p/api/r2", status.pid, "running")]
        time.sleep(0.3)
        assert second.status("p/api/r2")[0].pid == status.pid  # still the same process
        second.stop("p/api/r2", timeout=3)
        # This test process is still its parent (an agent that died would not be): a zombie.
        assert not psutil.pid_exists(status.pid) or psutil.Process(status.pid).status() == "zombie"
    finally:
        second.stop_all(3)
        second.close()


def test_a_process_that_died_meanwhile_is_restarted(tmp_path: Path) -> None:
    first = Supervisor(tmp_path / "run", poll_interval=0.05)
    status = first.start(spec(tmp_path, "p/api/r3", SLEEPER))
    first.close()
    psutil.Process(status.pid).kill()
    psutil.Process(status.pid).wait(5)
    second = Supervisor(tmp_path / "run", poll_interval=0.05)
    try:
        second.adopt()
        wait_until(
            lambda: (
                second.status("p/api/r3")[0].state == "running"
                and second.status("p/api/r3")[0].pid not in (None, status.pid)
            )
        )
        assert second.status("p/api/r3")[0].last_exit == "exited while the agent was down"
    finally:
        second.stop_all(3)
        second.close()


def test_logs_rotate_and_output_continues(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path / "run", poll_interval=0.05, log_max_bytes=20_000)
    chatty = (
        "import time\nfor i in range(4000):\n    print('line', i, 'x' * 40, flush=True)\n"
        "    time.sleep(0.0005)\ntime.sleep(600)"
    )
    try:
        sup.start(spec(tmp_path, "p/chatty", chatty))
        log = tmp_path / "logs" / "p_chatty.log"
        wait_until(lambda: (log.with_name(log.name + ".2")).exists())
        wait_until(
            lambda: (
                "line 3999" in log.read_text()
                or any("line 3999" in p.read_text() for p in log.parent.glob("p_chatty.log.*"))
            )
        )
        assert not (log.with_name(log.name + ".6")).exists()
    finally:
        sup.stop_all(3)
        sup.close()
