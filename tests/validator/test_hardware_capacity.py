"""Hardware and capacity checks against this machine's real numbers."""

from __future__ import annotations

import platform
from pathlib import Path

import psutil

from .conftest import only, validate_body


def test_cpus_and_architecture(tmp_path: Path) -> None:
    count = psutil.cpu_count()
    assert count is not None
    other = "s390x" if platform.machine() != "s390x" else "x86_64"
    body = f"""requirements:
  hardware:
    cpus: {count}
    arch: {platform.machine()}
"""
    cpus, arch = validate_body(tmp_path, body).results
    assert cpus.status == "pass" and cpus.observed == str(count)
    assert arch.status == "pass" and arch.observed == platform.machine()
    more = validate_body(
        tmp_path, f"requirements:\n  hardware:\n    cpus: {count + 1}\n    arch: {other}\n"
    )
    cpus, arch = more.results
    assert cpus.status == "fail" and f"{count + 1} required" in cpus.remedy
    assert arch.status == "fail" and arch.expected == other


def test_architecture_aliases(tmp_path: Path) -> None:
    alias = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    result = only(validate_body(tmp_path, f"requirements:\n  hardware:\n    arch: [{alias}]\n"))
    assert result.status == "pass"


def test_memory_and_disk(tmp_path: Path) -> None:
    body = """requirements:
  hardware:
    memory: 1Mi
    memory_available: 1Mi
    disk_free: 1Mi
"""
    memory, available, disk = validate_body(tmp_path, body).results
    assert memory.status == available.status == disk.status == "pass"
    assert abs(memory.facts["memory_total"] - psutil.virtual_memory().total) < 2**20
    assert disk.facts["disk_path"] == str(tmp_path / ".shipway")  # not created yet: its parent
    body = """requirements:
  hardware:
    memory: 1000Ti
    disk_free: 1000Ti
    disk_path: data
"""
    memory, disk = validate_body(tmp_path, body).results
    assert memory.status == disk.status == "fail"
    assert disk.check == "disk free data" and "on the filesystem of" in disk.remedy


SERVICES = """
services:
  api:
    run: python -m api
    workdir: app
    limits: {{memory: {memory}, cpus: {cpus}}}
    keep_releases: 4
  worker:
    run: python -m worker
    workdir: app
"""


def _app(tmp_path: Path) -> int:
    app = tmp_path / "app"
    (app / "pkg").mkdir(parents=True)
    (app / "pkg" / "main.py").write_bytes(b"x" * 30_000)
    (app / "README").write_bytes(b"y" * 1_000)
    (app / ".git").mkdir()
    (app / ".git" / "big").write_bytes(b"z" * 500_000)  # not part of a release
    return 31_000


def test_capacity_of_the_services_limits(tmp_path: Path) -> None:
    size = _app(tmp_path)
    body = "requirements:\n  capacity: true\n" + SERVICES.format(memory="64Mi", cpus=0.25)
    report = validate_body(tmp_path, body)
    memory, cpu, disk = report.results
    assert memory.check == "capacity memory" and memory.status == "pass"
    assert memory.facts["memory_needed"] == 64 * 2**20
    assert cpu.check == "capacity cpu" and cpu.status in ("pass", "warn")  # warn: busy host
    assert disk.check == "capacity disk" and disk.status == "pass"
    assert disk.facts["disk_needed"] == size * 4 + size * 5  # api keeps 4, worker 5


def test_capacity_that_does_not_fit(tmp_path: Path) -> None:
    _app(tmp_path)
    cpus = (psutil.cpu_count() or 1) + 1
    body = "requirements:\n  capacity: true\n" + SERVICES.format(memory="1000Ti", cpus=cpus)
    memory, cpu, _ = validate_body(tmp_path, body).results
    assert memory.status == "fail"
    assert "api 1000 TiB x 1" in memory.remedy and "worker declare no memory limit" in memory.remedy
    assert cpu.status == "fail" and f"= {cpus} CPUs" in cpu.remedy


def test_capacity_false_checks_nothing(tmp_path: Path) -> None:
    _app(tmp_path)
    body = "requirements:\n  capacity: false\n" + SERVICES.format(memory="1000Ti", cpus=1)
    assert validate_body(tmp_path, body).results == ()
