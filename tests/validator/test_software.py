"""Software checks against real executables on PATH, installed packages and processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from .conftest import only, validate_body


def _script(folder: Path, name: str, text: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder put first on PATH for the test."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


def test_a_missing_command(tmp_path: Path, bin_dir: Path) -> None:
    body = "requirements:\n  software:\n    - command: shipway-no-such-tool\n"
    result = only(validate_body(tmp_path, body))
    assert result.status == "fail"
    assert result.observed == "not found on PATH"
    assert result.remedy == "install shipway-no-such-tool, or add its folder to PATH"


def test_a_too_old_version(tmp_path: Path, bin_dir: Path) -> None:
    _script(bin_dir, "python3", 'echo "Python 3.9.2"\n')
    body = "requirements:\n  software:\n    - command: python3\n      version: '>=3.10'\n"
    result = only(validate_body(tmp_path, body))
    assert result.status == "fail"
    assert result.observed == f"3.9.2 at {bin_dir / 'python3'}"
    assert result.remedy == "python3 3.9.2 found, >=3.10 required"
    assert result.facts["version"] == "3.9.2"


def test_a_new_enough_version_on_stderr(tmp_path: Path, bin_dir: Path) -> None:
    _script(bin_dir, "tool", 'echo "tool version 2.14.1 (build 7)" >&2\n')
    body = "requirements:\n  software:\n    - command: tool\n      version: '>=2.3,<3'\n"
    result = only(validate_body(tmp_path, body))
    assert result.status == "pass", result
    assert result.facts == {"version": "2.14.1", "path": str(bin_dir / "tool")}


def test_version_flag_and_pattern_overrides(tmp_path: Path, bin_dir: Path) -> None:
    # Prints its version only for -V, after a build number that the default would pick.
    _script(
        bin_dir,
        "odd",
        'if [ "$1" = "-V" ]; then echo "odd build 2024.1 release r5.2"; else exit 3; fi\n',
    )
    body = """requirements:
  software:
    - command: odd
      version: ">=5,<6"
      version_flag: -V
      version_pattern: 'release r([0-9.]+)'
    - command: odd
      version: ">=5,<6"
      version_flag: -V
"""
    overridden, default = validate_body(tmp_path, body).results
    assert overridden.status == "pass" and overridden.facts["version"] == "5.2"
    assert default.status == "fail" and default.facts["version"] == "2024.1"


def test_a_version_that_cannot_be_found(tmp_path: Path, bin_dir: Path) -> None:
    _script(bin_dir, "quiet", "echo no numbers here\n")
    body = "requirements:\n  software:\n    - command: quiet\n      version: '>=1'\n"
    result = only(validate_body(tmp_path, body))
    assert result.status == "fail"
    assert "no version found for quiet" in result.remedy and "version_pattern" in result.remedy


def test_a_hanging_version_command_is_killed_at_its_timeout(tmp_path: Path, bin_dir: Path) -> None:
    marker = tmp_path / "pid"
    _script(bin_dir, "hang", f"echo $$ > {marker}\nexec sleep 30\n")
    body = (
        "requirements:\n  software:\n    - command: hang\n      version: '>=1'\n      timeout: 1s\n"
    )
    result = only(validate_body(tmp_path, body))
    assert result.status == "fail" and result.observed == "no answer within 1s"
    pid = int(marker.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the timed-out command is still running"
        time.sleep(0.05)


def test_python_packages(tmp_path: Path) -> None:
    body = """requirements:
  software:
    - python_package: shipway-no-such-package
    - python_package: pytest
      version: ">=7"
    - python_package: pytest
      version: "<1"
"""
    missing, present, too_new = validate_body(tmp_path, body).results
    assert missing.status == "fail" and missing.observed == "not installed"
    assert missing.remedy == "pip install 'shipway-no-such-package'"
    assert present.status == "pass" and present.observed == pytest.__version__
    assert too_new.status == "fail"
    assert too_new.remedy == f"pytest {pytest.__version__} found, <1 required"


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="dpkg-query is not installed")
def test_os_packages_through_dpkg(tmp_path: Path) -> None:
    body = """requirements:
  software:
    - os_package: bash
      version: ">=3"
    - os_package: bash
      version: ">=999"
    - os_package: shipway-no-such-package
"""
    installed, too_old, missing = validate_body(tmp_path, body).results
    real = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "bash"], capture_output=True, text=True
    ).stdout
    assert installed.status == "pass" and installed.observed == real
    assert too_old.status == "fail" and ">=999 required" in too_old.remedy
    assert missing.status == "fail" and missing.remedy == "apt-get install shipway-no-such-package"


@pytest.fixture
def named_process(tmp_path: Path) -> Iterator[str]:
    """A real running process with a name of its own."""
    name = f"shipwayproc{os.getpid() % 1000}"
    exe = tmp_path / name
    shutil.copy(sys.executable, exe)
    process = subprocess.Popen([str(exe), "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 5
        while psutil.Process(process.pid).name() != name:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        yield name
    finally:
        process.kill()
        process.wait()


def test_a_running_and_a_missing_process(tmp_path: Path, named_process: str) -> None:
    body = f"""requirements:
  software:
    - process: {named_process}
    - process: shipway-not-running
"""
    running, missing = validate_body(tmp_path, body).results
    assert running.status == "pass" and running.observed.startswith("running (pid ")
    assert missing.status == "fail" and missing.observed == "not running"


def test_a_unit_that_is_not_active_fails(tmp_path: Path) -> None:
    body = "requirements:\n  software:\n    - unit: shipway-no-such.service\n"
    result = only(validate_body(tmp_path, body))
    # Without systemd the check cannot ask, with it the unit is inactive: a failure either way.
    assert result.status == "fail"
    assert result.observed == "inactive" or result.observed.startswith(
        ("systemctl failed", "systemctl not found")
    )
