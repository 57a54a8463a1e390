"""Remote hosts: a real sshd on 127.0.0.1 is validated over SSH, with plain commands."""

from __future__ import annotations

import datetime
import os
import platform
import pwd
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from shipway.validator import SshHost

from ..conftest import need_service
from .conftest import (
    free_port,
    make_cert,
    only,
    run_validation,
    shipway,
    web_server,
    write_manifest,
)
from .sshd import Sshd, home_with_ssh_config, running_sshd, unavailable


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    reason = unavailable()
    if reason is not None:
        need_service(reason)
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def _fleet(sshd: Sshd) -> str:
    return f"  dev: {{}}\n  fleet:\n    target: ssh\n    hosts: ['{sshd.url}']"


def test_a_remote_host_is_validated_over_ssh(tmp_path: Path, sshd: Sshd) -> None:
    secrets = tmp_path / "secrets"
    secrets.write_text("x")
    secrets.chmod(0o644)
    closed = free_port()
    cert = make_cert(tmp_path, valid_for=datetime.timedelta(days=3, hours=1))
    with web_server(cert) as https_port:
        body = f"""requirements:
  hardware:
    cpus: 1
    memory_available: 1Mi
    disk_free: 1Mi
    arch: {platform.machine()}
  software:
    - command: sh
    - command: python3
      version: ">=3"
    - python_package: shipway-no-such-package
    - process: sshd
  network:
    - port_free: {sshd.port}
    - tcp: 127.0.0.1:{sshd.port}
    - tcp: 127.0.0.1:{closed}
    - dns: localhost
    - tls: 127.0.0.1:{https_port}
      ca_file: cert.pem
    - http: https://127.0.0.1:{https_port}/health
      verify: false
      expect_body: healthy
  security:
    - path: {secrets}
      max_mode: "0600"
    - not_root: true
    - env: HOME
"""
        path = write_manifest(tmp_path, body, environments=_fleet(sshd))
        host = SshHost(sshd.url, config=[sshd.client_config])
        report = run_validation(path, "fleet", hosts=[host])
    label = f"{sshd.user}@127.0.0.1:{sshd.port}"
    assert report.hosts == (label,) and report.remote
    assert {r.host for r in report.results} == {label}
    by = {r.check: r for r in report.results}

    assert by["cpus"].status == "pass" and by["cpus"].facts["cpus"] == psutil.cpu_count()
    assert by["arch"].observed == platform.machine()
    assert by["memory available"].status == "pass" and by["disk free .shipway/"].status == "pass"

    assert by["command sh"].status == "pass" and by["command sh"].observed.startswith("at /")
    assert by["command python3"].status == "pass" and by["command python3"].facts["version"]
    assert by["python package shipway-no-such-package"].observed == "not installed"
    assert by["process sshd"].status == "pass"

    held = by[f"port {sshd.port}"]
    sshd_pids = {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "sshd"}
    assert held.status == "fail" and held.facts["pid"] in sshd_pids
    assert held.remedy == f"free port {sshd.port}: held by pid {held.facts['pid']} (sshd)"
    assert by[f"tcp 127.0.0.1:{sshd.port}"].status == "pass"
    refused = by[f"tcp 127.0.0.1:{closed}"]
    assert refused.status == "fail" and refused.observed.startswith("Connection refused")
    assert by["dns localhost"].status == "pass"
    tls = by[f"tls 127.0.0.1:{https_port}"]
    assert tls.status == "fail" and tls.facts["days_left"] == 3  # TLS through the SSH host
    assert by[f"http https://127.0.0.1:{https_port}/health"].status == "pass"

    mode = by[f"path {secrets}"]
    assert mode.status == "fail" and mode.remedy == f"chmod 0600 {secrets}"
    uid = os.geteuid()
    assert by["not root"].observed == f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    assert by["not root"].status == ("fail" if uid == 0 else "pass")
    assert by["env HOME"].status == "pass"


def test_the_command_shows_a_host_column(tmp_path: Path, sshd: Sshd) -> None:
    body = "requirements:\n  hardware:\n    cpus: 1\n  software:\n    - command: sh\n"
    write_manifest(tmp_path, body, environments=_fleet(sshd))
    home = home_with_ssh_config(sshd, tmp_path / "home")
    text = shipway("validate", "-e", "fleet", cwd=tmp_path, env={"HOME": str(home)})
    assert text.returncode == 0, text.stdout + text.stderr
    header = next(line for line in text.stdout.splitlines() if "check" in line)
    assert header.split()[1:4] == ["host", "┃", "check"]
    rows = [line for line in text.stdout.splitlines() if "command sh" in line]
    assert len(rows) == 1 and f"{sshd.user}@127.0.0.1:{sshd.port}" in rows[0]
    assert "pass" in rows[0]


def test_an_untrusted_host_key_is_refused(tmp_path: Path, sshd: Sshd) -> None:
    config = tmp_path / "ssh_config"
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    config.write_text(
        f"Host 127.0.0.1\n  IdentityFile {sshd.folder / 'client_key'}\n"
        f"  UserKnownHostsFile {empty}\n"
    )
    path = write_manifest(
        tmp_path, "requirements:\n  hardware:\n    cpus: 1\n", environments=_fleet(sshd)
    )
    report = run_validation(path, "fleet", hosts=[SshHost(sshd.url, config=[config])])
    result = only(report)
    assert (result.check, result.status) == ("ssh", "fail")
    assert result.observed.startswith("host key not trusted")
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1" in result.remedy
    assert not report.passed


def test_an_unreachable_host_fails_once(tmp_path: Path, sshd: Sshd) -> None:
    url = f"ssh://{sshd.user}@127.0.0.1:{free_port()}"
    environments = f"  dev: {{}}\n  fleet:\n    target: ssh\n    hosts: ['{url}']"
    body = "requirements:\n  hardware:\n    cpus: 1\n  software:\n    - command: sh\n"
    path = write_manifest(tmp_path, body, environments=environments)
    report = run_validation(path, "fleet", hosts=[SshHost(url, config=[sshd.client_config])])
    result = only(report)
    assert result.check == "ssh" and result.status == "fail"
    assert "Connection refused" in result.observed
