"""Hardware: CPU count, total and available memory, free disk, architecture.

On this machine the numbers come from psutil; on an SSH host from `getconf`, `/proc/meminfo`,
`df` and `uname`.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import psutil

from shipway.manifest.requirements import HardwareRequirements
from shipway.validator.hosts import Host, in_daemon_thread
from shipway.validator.interface import Check, CheckError, Observation
from shipway.validator.registry import CheckScope, registry
from shipway.validator.units import size_text

#: Names that mean the same machine architecture, keyed by what `uname -m` says.
ARCH_ALIASES = {"x86_64": ("amd64", "x64"), "aarch64": ("arm64",), "i686": ("i386", "x86")}


@dataclass(frozen=True)
class Memory:
    total: int
    available: int


# --- facts ---------------------------------------------------------------------------


async def cpu_count(host: Host) -> int:
    """Logical CPUs of the host."""
    if host.local:
        return psutil.cpu_count(logical=True) or 1
    # NOTE: online CPUs, as psutil counts them here (`nproc --all` counts offline ones too).
    done = await host.run(["getconf", "_NPROCESSORS_ONLN"])
    if not done.ok or not done.stdout.strip().isdigit():
        raise CheckError(f"getconf failed: {done.output[:200]}")
    return int(done.stdout.strip())


async def memory(host: Host) -> Memory:
    """Total and available memory, read once per host."""

    async def read() -> Memory:
        if host.local:
            vm = psutil.virtual_memory()
            return Memory(vm.total, vm.available)
        done = await host.run(["cat", "/proc/meminfo"])
        fields = {}
        for line in done.stdout.splitlines():
            name, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                fields[name] = int(parts[0]) * 1024
        if "MemTotal" not in fields:
            raise CheckError("cannot read /proc/meminfo on the host")
        return Memory(fields["MemTotal"], fields.get("MemAvailable", fields.get("MemFree", 0)))

    return await host.fact("memory", read)


async def disk_free(host: Host, path: str) -> int:
    """Bytes free for unprivileged users on the filesystem that holds `path`."""
    if host.local:
        existing = _existing_ancestor(Path(path))
        usage = await in_daemon_thread(psutil.disk_usage, str(existing))
        return int(usage.free)
    done = await host.run(["df", "-Pk", "--", path])
    lines = done.stdout.strip().splitlines()
    fields = lines[-1].split() if len(lines) >= 2 else []
    if not done.ok or len(fields) < 4 or not fields[3].isdigit():
        raise CheckError(f"df {path} failed: {done.output[:200]}", "check that the path exists")
    return int(fields[3]) * 1024


def _existing_ancestor(path: Path) -> Path:
    # .shipway/ does not exist before the first deployment; its parent's filesystem counts.
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


async def architecture(host: Host) -> str:
    if host.local:
        return platform.machine()
    done = await host.run(["uname", "-m"])
    if not done.ok:
        raise CheckError(f"uname -m failed: {done.output[:200]}")
    return done.stdout.strip()


def canonical_arch(name: str) -> str:
    """`amd64` -> `x86_64`, `arm64` -> `aarch64`; other names as they are."""
    lowered = name.lower()
    for canonical, aliases in ARCH_ALIASES.items():
        if lowered == canonical or lowered in aliases:
            return canonical
    return lowered


# --- checks --------------------------------------------------------------------------


class CpuCheck(Check):
    family = "hardware"

    def __init__(self, minimum: float) -> None:
        super().__init__("cpus", f">= {minimum:g}")
        self.minimum = minimum

    async def observe(self, host: Host) -> Observation:
        count = await cpu_count(host)
        if count >= self.minimum:
            return Observation(str(count), facts={"cpus": count})
        return Observation(
            str(count),
            "fail",
            f"the host has {count} CPUs, {self.minimum:g} required: use a larger machine",
            {"cpus": count},
        )


class MemoryCheck(Check):
    family = "hardware"

    def __init__(self, minimum: int, *, available: bool) -> None:
        what = "memory available" if available else "memory"
        super().__init__(what, f">= {size_text(minimum)}")
        self.minimum = minimum
        self.available = available

    async def observe(self, host: Host) -> Observation:
        found = await memory(host)
        amount = found.available if self.available else found.total
        facts = {"memory_total": found.total, "memory_available": found.available}
        if amount >= self.minimum:
            return Observation(size_text(amount), facts=facts)
        remedy = (
            f"free memory on the host ({size_text(amount)} available, "
            f"{size_text(self.minimum)} needed): stop other processes or add memory"
            if self.available
            else f"the host has {size_text(amount)}, {size_text(self.minimum)} required: "
            "use a larger machine"
        )
        return Observation(size_text(amount), "fail", remedy, facts)


class DiskFreeCheck(Check):
    family = "hardware"

    def __init__(self, minimum: int, path: str | None, scope: CheckScope) -> None:
        shown = path or ".shipway/"
        super().__init__(f"disk free {shown}", f">= {size_text(minimum)}")
        self.minimum = minimum
        self.path_setting = path
        self.home = scope.home

    async def observe(self, host: Host) -> Observation:
        if self.path_setting is None:
            where = str(self.home) if host.local else "."
        else:
            where = host.path(self.path_setting)
        free = await disk_free(host, where)
        facts = {"disk_free": free, "disk_path": where}
        if free >= self.minimum:
            return Observation(size_text(free), facts=facts)
        return Observation(
            size_text(free),
            "fail",
            f"free {size_text(self.minimum - free)} on the filesystem of {where}",
            facts,
        )


class ArchitectureCheck(Check):
    family = "hardware"

    def __init__(self, accepted: list[str]) -> None:
        super().__init__("arch", " or ".join(accepted))
        self.accepted = {canonical_arch(name) for name in accepted}

    async def observe(self, host: Host) -> Observation:
        found = await architecture(host)
        facts = {"arch": found}
        if canonical_arch(found) in self.accepted:
            return Observation(found, facts=facts)
        return Observation(
            found, "fail", f"this build needs {self.expected}; the host is {found}", facts
        )


@registry.register(HardwareRequirements)
def build(spec: HardwareRequirements, scope: CheckScope) -> list[Check]:
    checks: list[Check] = []
    if spec.cpus is not None:
        checks.append(CpuCheck(spec.cpus))
    if spec.memory is not None:
        checks.append(MemoryCheck(spec.memory, available=False))
    if spec.memory_available is not None:
        checks.append(MemoryCheck(spec.memory_available, available=True))
    if spec.disk_free is not None:
        checks.append(DiskFreeCheck(spec.disk_free, spec.disk_path, scope))
    if spec.arch:
        checks.append(ArchitectureCheck(spec.arch))
    return checks
