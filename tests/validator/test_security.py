"""Security checks on real files, the real user and the real environment."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest

from .conftest import only, shipway, validate_body, write_manifest


def _secrets(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "secrets"
    path.write_text("token: not-for-your-eyes\n")
    path.chmod(mode)
    return path


def test_a_secrets_file_with_mode_0644_fails(tmp_path: Path) -> None:
    path = _secrets(tmp_path, 0o644)
    body = 'requirements:\n  security:\n    - path: secrets\n      max_mode: "0600"\n'
    result = only(validate_body(tmp_path, body))
    assert result.status == "fail"
    assert result.observed.startswith("mode 0644, owner ")
    assert result.remedy == f"chmod 0600 {path}"


def test_a_secrets_file_with_mode_0600_passes(tmp_path: Path) -> None:
    _secrets(tmp_path, 0o600)
    body = 'requirements:\n  security:\n    - path: secrets\n      max_mode: "0600"\n'
    result = only(validate_body(tmp_path, body))
    assert result.status == "pass", result
    assert result.facts["mode"] == "0600"


def test_a_narrower_mode_passes_and_the_remedy_only_removes_bits(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    folder.chmod(0o500)
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o751)
    body = """requirements:
  security:
    - path: keys
      max_mode: "0700"
    - path: loose
      max_mode: "0640"
"""
    narrow, wide = validate_body(tmp_path, body).results
    assert narrow.status == "pass"
    assert wide.status == "fail" and wide.remedy == f"chmod 0640 {loose}"  # 0751 & 0640


def test_a_missing_path_is_a_warning(tmp_path: Path) -> None:
    body = 'requirements:\n  security:\n    - path: not-yet\n      max_mode: "0700"\n'
    report = validate_body(tmp_path, body)
    assert only(report).status == "warn" and only(report).observed == "does not exist"
    assert report.passed


def test_owner(tmp_path: Path) -> None:
    path = _secrets(tmp_path, 0o600)
    me = pwd.getpwuid(os.geteuid()).pw_name
    other = "nobody" if me != "nobody" else "root"
    body = f"""requirements:
  security:
    - path: secrets
      owner: {me}
    - path: secrets
      owner: {other}
      max_mode: "0600"
"""
    mine, theirs = validate_body(tmp_path, body).results
    assert mine.status == "pass" and mine.facts["owner"] == me
    assert theirs.status == "fail" and theirs.remedy == f"chown {other} {path}"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_owner_of_a_file_given_to_another_user(tmp_path: Path) -> None:
    path = _secrets(tmp_path, 0o600)
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    body = "requirements:\n  security:\n    - path: secrets\n      owner: nobody\n"
    result = only(validate_body(tmp_path, body))
    assert result.status == "pass" and result.observed == "mode 0600, owner nobody"


def test_not_root_tells_the_truth_about_the_user(tmp_path: Path) -> None:
    result = only(validate_body(tmp_path, "requirements:\n  security:\n    - not_root: true\n"))
    uid = os.geteuid()
    assert result.observed == f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    # Tests run as root in CI: then this check must fail; as anyone else it must pass.
    assert result.status == ("fail" if uid == 0 else "pass")


def test_not_root_false_checks_nothing(tmp_path: Path) -> None:
    report = validate_body(tmp_path, "requirements:\n  security:\n    - not_root: false\n")
    assert report.results == ()


def test_environment_variables_are_checked_but_never_shown(tmp_path: Path) -> None:
    canary = "canary-5f1c9e0b-secret-value"
    write_manifest(
        tmp_path,
        """requirements:
  security:
    - env: SHIPWAY_TEST_TOKEN
    - env: SHIPWAY_TEST_ABSENT
""",
    )
    env = {"SHIPWAY_TEST_TOKEN": canary}
    text = shipway("validate", "-e", "dev", cwd=tmp_path, env=env)
    data = shipway("validate", "-e", "dev", "--output", "json", cwd=tmp_path, env=env)
    assert text.returncode == 1 and data.returncode == 1, text.stderr
    for output in (text.stdout, text.stderr, data.stdout, data.stderr):
        assert canary not in output
    present, absent = json.loads(data.stdout)["results"]
    assert (present["check"], present["status"], present["observed"]) == (
        "env SHIPWAY_TEST_TOKEN",
        "pass",
        "set",
    )
    assert absent["status"] == "fail" and absent["observed"] == "not set"
