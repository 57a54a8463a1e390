"""Ctrl-C in the middle of an apply: nothing new starts, the calls in flight finish and are
recorded, so the state matches the world exactly (terraform#20718); apply again finishes.
And a CLI apply waits for no one: while a deployment holds the environment, it is blocked."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from shipway.orchestrator.names import lease_key

from .project import open_store, shipway

MANIFEST = (
    "version: 1\nproject: demo\nenvironments:\n  dev: {}\n"
    "pipeline:\n  plugins: [slow_plugin.py]\nresources:\n"
    + "".join(f"  s{i}:\n    type: test.slow\n    seconds: 0.6\n" for i in range(8))
)


def test_an_interrupted_apply_records_exactly_what_was_done(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("slow_plugin.py"), tmp_path / "slow_plugin.py")
    (tmp_path / "shipway.yaml").write_text(MANIFEST)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipway",
            "provision",
            "apply",
            "-e",
            "dev",
            "--yes",
            "--parallelism",
            "2",
        ],
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    for line in process.stdout:
        if "created after" in line or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "interrupted: the calls in flight finished and were recorded" in err
    made = sorted(p.name for p in (tmp_path / "made").iterdir())
    with open_store(tmp_path) as store:
        recorded = sorted(r.name for r in store.resources.list("demo", "dev"))
    assert recorded == made  # exactly what exists, nothing more, nothing less
    assert 1 <= len(made) < 8
    done = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"Apply complete! {8 - len(made)} created" in done.stdout
    assert len(list((tmp_path / "made").iterdir())) == 8


def test_apply_is_blocked_while_a_deployment_holds_the_environment(tmp_path: Path) -> None:
    (tmp_path / "shipway.yaml").write_text(
        "version: 1\nproject: demo\nenvironments:\n  dev: {}\nresources:\n"
        "  box:\n    type: local.directory\n    path: box\n"
    )
    with open_store(tmp_path) as store:
        store.leases.acquire(lease_key("demo", "dev"), "dep-123", 60)
        blocked = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path)
        assert blocked.returncode == 3, blocked.stderr
        assert "locked by deployment dep-123" in blocked.stderr
        assert not (tmp_path / "box").exists()
        store.leases.release(lease_key("demo", "dev"), "dep-123")
    done = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "box").is_dir()
