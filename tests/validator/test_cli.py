"""`shipway validate`: the table, the JSON, the exit codes, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import free_port, listening, shipway, write_manifest


def test_passing_checks_exit_0_with_a_table(tmp_path: Path) -> None:
    port = free_port()
    write_manifest(
        tmp_path,
        f"""requirements:
  hardware: {{cpus: 1}}
  network:
    - port_free: {port}
    - tcp: 127.0.0.1:{free_port()}
      timeout: 1s
      required: false
""",
    )
    done = shipway("validate", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    header = next(line for line in done.stdout.splitlines() if "expected" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == [
        "check",
        "expected",
        "observed",
        "status",
        "remedy",
    ]
    assert "host" not in header  # only with remote hosts
    assert "ready: 2 passed, 1 warning, 0 failed" in done.stdout


def test_a_failed_required_check_exits_1_and_json_has_the_rows(tmp_path: Path) -> None:
    with listening() as port:
        write_manifest(
            tmp_path,
            f"""requirements:
  software:
    - command: shipway-no-such-tool
  network:
    - port_free: {port}
""",
        )
        done = shipway("validate", "-e", "dev", "--output", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert (data["project"], data["environment"], data["passed"]) == ("demo", "dev", False)
    assert data["summary"] == {"pass": 0, "warn": 0, "fail": 2}
    command, held = data["results"]
    assert set(command) >= {"check", "expected", "observed", "status", "remedy", "host"}
    assert command["status"] == "fail" and command["host"] == "local"
    assert held["remedy"].startswith(f"free port {port}: held by pid ")


def test_a_malformed_requirement_exits_2_with_its_position(tmp_path: Path) -> None:
    write_manifest(
        tmp_path,
        """requirements:
  software:
    - command: python3
      version: "newest please"
""",
    )
    done = shipway("validate", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: shipway.yaml:8:16: ")
    assert "invalid version specifier 'newest please'" in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_an_unknown_check_kind_and_an_unknown_environment_exit_2(tmp_path: Path) -> None:
    write_manifest(tmp_path, "requirements:\n  network:\n    - ping: example.com\n")
    done = shipway("validate", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: shipway.yaml:7:7: requirements.network[0]: ")
    write_manifest(tmp_path, "requirements:\n  hardware: {cpus: 1}\n")
    done = shipway("validate", "-e", "prod", cwd=tmp_path)
    assert done.returncode == 2 and "unknown environment 'prod'" in done.stderr
