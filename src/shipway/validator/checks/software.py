"""Software: commands on PATH at a version, Python and OS packages, running processes and
systemd units."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
from dataclasses import dataclass
from pathlib import PurePath

import psutil

from shipway.manifest.requirements import (
    CommandRequirement,
    OsPackageRequirement,
    ProcessRequirement,
    PythonPackageRequirement,
    UnitRequirement,
)
from shipway.validator.hosts import NOT_FOUND, Host, LocalHost, in_daemon_thread
from shipway.validator.interface import Check, CheckError, Observation
from shipway.validator.registry import CheckScope, registry
from shipway.validator.versions import find_version, satisfies, upstream_version

_PYTHON_VERSION = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _judge_version(
    what: str, version: str | None, wanted: str | None, where: str, remedy: str
) -> Observation:
    """pass / fail of something found at `version`, against the specifier `wanted`."""
    shown = f"{version} {where}".strip() if version else where
    facts = {"version": version}
    if wanted is None:
        return Observation(shown or "installed", facts=facts)
    if version is None:
        return Observation(shown, "fail", f"no version found for {what}; {remedy}", facts)
    if satisfies(version, wanted):
        return Observation(shown, facts=facts)
    return Observation(shown, "fail", f"{what} {version} found, {wanted} required", facts)


class CommandCheck(Check):
    family = "software"

    def __init__(self, spec: CommandRequirement) -> None:
        super().__init__(
            f"command {spec.command}",
            spec.version or "on PATH",
            required=spec.required,
            timeout=spec.timeout,
        )
        self.spec = spec

    async def locate(self, host: Host) -> str | None:
        if isinstance(host, LocalHost):
            env = os.environ if host.env is None else host.env
            return shutil.which(self.spec.command, path=env.get("PATH", os.defpath))
        done = await host.run(["sh", "-c", 'command -v -- "$1"', "sh", self.spec.command])
        return (done.stdout.strip() or None) if done.ok else None

    async def observe(self, host: Host) -> Observation:
        spec = self.spec
        path = await self.locate(host)
        if path is None:
            return Observation(
                "not found on PATH",
                "fail",
                f"install {spec.command}, or add its folder to PATH",
                {"path": None},
            )
        probe = spec.version is not None or spec.version_pattern is not None
        if not probe:
            return Observation(f"at {path}", facts={"path": path})
        done = await host.run([path, spec.version_flag])
        version = find_version(done.output, spec.version_pattern)
        seen = _judge_version(
            spec.command,
            version,
            spec.version,
            f"at {path}",
            f"`{spec.command} {spec.version_flag}` printed {done.output[:80]!r}; "
            "set version_flag or version_pattern",
        )
        return Observation(seen.observed, seen.status, seen.remedy, {**seen.facts, "path": path})


class PythonPackageCheck(Check):
    family = "software"

    def __init__(self, spec: PythonPackageRequirement) -> None:
        super().__init__(
            f"python package {spec.python_package}",
            spec.version or "installed",
            required=spec.required,
        )
        self.spec = spec

    async def installed_version(self, host: Host) -> str | None:
        name = self.spec.python_package
        if host.local:
            # A lookup scans site-packages (milliseconds each): off the event loop, once.
            return await host.fact(
                f"python package {name}", lambda: in_daemon_thread(_version, name)
            )
        done = await host.run(["python3", "-c", _PYTHON_VERSION, name])
        if done.exit_status == NOT_FOUND:
            raise CheckError("python3 not found on the host", "install python3 on the host")
        return (done.stdout.strip() or None) if done.ok else None

    async def observe(self, host: Host) -> Observation:
        name = self.spec.python_package
        version = await self.installed_version(host)
        if version is None:
            return Observation(
                "not installed", "fail", f"pip install '{name}{self.spec.version or ''}'"
            )
        return _judge_version(name, version, self.spec.version, "", f"pip install -U {name}")


class OsPackageCheck(Check):
    family = "software"

    def __init__(self, spec: OsPackageRequirement) -> None:
        super().__init__(
            f"os package {spec.os_package}", spec.version or "installed", required=spec.required
        )
        self.spec = spec

    async def installed_version(self, host: Host) -> tuple[str | None, str]:
        """(version or None when not installed, the package manager asked)."""
        name = self.spec.os_package
        dpkg = await host.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", "--", name])
        if dpkg.exit_status != NOT_FOUND:
            status, _, version = dpkg.stdout.partition("\t")
            installed = dpkg.ok and status.split()[-1:] == ["installed"]
            return (version.strip() if installed else None), "dpkg"
        rpm = await host.run(["rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", "--", name])
        if rpm.exit_status != NOT_FOUND:
            return (rpm.stdout.strip() if rpm.ok else None), "rpm"
        raise CheckError(
            "no package manager to ask (neither dpkg-query nor rpm is installed)",
            "check the package another way, or set required: false",
        )

    async def observe(self, host: Host) -> Observation:
        name = self.spec.os_package
        version, manager = await self.installed_version(host)
        if version is None:
            install = "apt-get install" if manager == "dpkg" else "dnf install"
            return Observation("not installed", "fail", f"{install} {name}")
        seen = _judge_version(
            name, upstream_version(version), self.spec.version, "", f"upgrade {name}"
        )
        return Observation(version, seen.status, seen.remedy, {"version": version})


@dataclass(frozen=True)
class RunningProcess:
    pid: int
    names: frozenset[str]


async def processes(host: Host) -> list[RunningProcess]:
    """This machine's process table, read once per host."""

    def read() -> list[RunningProcess]:
        found = []
        for process in psutil.process_iter(["name", "exe"]):
            names = {process.info.get("name") or ""}
            exe = process.info.get("exe")
            if exe:
                names.add(PurePath(exe).name)
            found.append(RunningProcess(process.pid, frozenset(names - {""})))
        return found

    async def snapshot() -> list[RunningProcess]:
        return await in_daemon_thread(read)

    return await host.fact("processes", snapshot)


class ProcessCheck(Check):
    family = "software"

    def __init__(self, spec: ProcessRequirement) -> None:
        super().__init__(f"process {spec.process}", "running", required=spec.required)
        self.spec = spec

    async def pids(self, host: Host) -> list[int]:
        if host.local:
            return [p.pid for p in await processes(host) if self.spec.process in p.names]
        done = await host.run(["pgrep", "-x", "--", self.spec.process])
        if done.exit_status == NOT_FOUND:
            raise CheckError("pgrep not found on the host", "install procps on the host")
        return [int(pid) for pid in done.stdout.split() if pid.isdigit()]

    async def observe(self, host: Host) -> Observation:
        pids = await self.pids(host)
        if pids:
            shown = ", ".join(str(pid) for pid in pids[:5]) + (", ..." if len(pids) > 5 else "")
            return Observation(f"running (pid {shown})", facts={"pids": pids})
        return Observation(
            "not running", "fail", f"start {self.spec.process} (its service or unit)"
        )


class UnitCheck(Check):
    family = "software"

    #: Answers of `systemctl is-active`.
    STATES = frozenset(
        {"active", "inactive", "failed", "activating", "deactivating", "reloading", "unknown"}
    )

    def __init__(self, spec: UnitRequirement) -> None:
        super().__init__(f"unit {spec.unit}", "active", required=spec.required)
        self.spec = spec

    async def observe(self, host: Host) -> Observation:
        done = await host.run(["systemctl", "is-active", "--", self.spec.unit])
        if done.exit_status == NOT_FOUND:
            raise CheckError("systemctl not found: the host does not run systemd")
        state = done.stdout.strip()
        if state not in self.STATES:
            reason = (done.stderr.strip().splitlines() or ["no answer"])[0]
            raise CheckError(f"systemctl failed: {reason[:160]}", "check that systemd runs")
        if state == "active":
            return Observation(state, facts={"state": state})
        return Observation(state, "fail", f"systemctl start {self.spec.unit}", {"state": state})


@registry.register(CommandRequirement)
def build_command(spec: CommandRequirement, scope: CheckScope) -> list[Check]:
    return [CommandCheck(spec)]


@registry.register(PythonPackageRequirement)
def build_python_package(spec: PythonPackageRequirement, scope: CheckScope) -> list[Check]:
    return [PythonPackageCheck(spec)]


@registry.register(OsPackageRequirement)
def build_os_package(spec: OsPackageRequirement, scope: CheckScope) -> list[Check]:
    return [OsPackageCheck(spec)]


@registry.register(ProcessRequirement)
def build_process(spec: ProcessRequirement, scope: CheckScope) -> list[Check]:
    return [ProcessCheck(spec)]


@registry.register(UnitRequirement)
def build_unit(spec: UnitRequirement, scope: CheckScope) -> list[Check]:
    return [UnitCheck(spec)]
