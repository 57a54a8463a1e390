"""Capacity: what the environment's services declare fits what the host has free.

Memory: the sum of `limits.memory` x replicas against the host's available memory. CPU:
the sum of `limits.cpus` x replicas against its CPUs (a warning when the 1-minute load
average leaves fewer free than that). Disk:
`keep_releases` copies of each service's folder against the free space where releases are
kept. See docs/decisions/0017-validator-capacity.md for why these measures.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from shipway.manifest.requirements import RequirementsSpec
from shipway.manifest.services import ServiceSpec
from shipway.validator.checks.hardware import cpu_count, disk_free, memory
from shipway.validator.hosts import Host, in_daemon_thread
from shipway.validator.interface import Check, CheckError, Observation
from shipway.validator.registry import CheckScope, registry
from shipway.validator.units import size_text

#: Folders that are not part of a release (state, version control, caches).
NOT_RELEASED = frozenset({".shipway", ".git", "__pycache__", ".mypy_cache", ".pytest_cache"})
#: A service folder with more files than this is not measured (it would take too long).
MAX_FILES = 200_000


def replicas(service: ServiceSpec) -> int:
    """How many processes of the service run at once (1 until services declare more)."""
    return max(1, int(getattr(service, "replicas", 1) or 1))


@dataclass(frozen=True)
class Demand:
    """What the services declare, in total, with the terms that make it up."""

    total: float
    terms: tuple[str, ...]
    undeclared: tuple[str, ...]

    def explain(self, unit: str) -> str:
        text = " + ".join(self.terms)
        if self.undeclared:
            text += f" ({', '.join(self.undeclared)} declare no {unit} limit)"
        return text


def memory_demand(services: Mapping[str, ServiceSpec]) -> Demand:
    total, terms, undeclared = 0, [], []
    for name, service in services.items():
        if service.limits.memory is None:
            undeclared.append(name)
            continue
        count = replicas(service)
        total += service.limits.memory * count
        terms.append(f"{name} {size_text(service.limits.memory)} x {count}")
    return Demand(total, tuple(terms), tuple(undeclared))


def cpu_demand(services: Mapping[str, ServiceSpec]) -> Demand:
    total, terms, undeclared = 0.0, [], []
    for name, service in services.items():
        if service.limits.cpus is None:
            undeclared.append(name)
            continue
        count = replicas(service)
        total += service.limits.cpus * count
        terms.append(f"{name} {service.limits.cpus:g} x {count}")
    return Demand(total, tuple(terms), tuple(undeclared))


async def load_average(host: Host) -> float:
    if host.local:
        return psutil.getloadavg()[0]
    done = await host.run(["cat", "/proc/loadavg"])
    try:
        return float(done.stdout.split()[0])
    except (IndexError, ValueError):
        raise CheckError("cannot read /proc/loadavg on the host") from None


class MemoryCapacityCheck(Check):
    family = "capacity"

    def __init__(self, demand: Demand) -> None:
        super().__init__("capacity memory", f"{size_text(demand.total)} for the services")
        self.demand = demand

    async def observe(self, host: Host) -> Observation:
        available = (await memory(host)).available
        observed = f"{size_text(available)} available"
        facts = {"memory_needed": int(self.demand.total), "memory_available": available}
        if available >= self.demand.total:
            return Observation(observed, facts=facts)
        return Observation(
            observed,
            "fail",
            f"the services need {self.demand.explain('memory')} = {size_text(self.demand.total)}:"
            " lower their limits or replicas, or free memory on the host",
            facts,
        )


class CpuCapacityCheck(Check):
    family = "capacity"

    def __init__(self, demand: Demand) -> None:
        super().__init__("capacity cpu", f"{demand.total:g} CPUs for the services")
        self.demand = demand

    async def observe(self, host: Host) -> Observation:
        cpus, load = await asyncio.gather(cpu_count(host), load_average(host))
        free = max(0.0, cpus - load)
        observed = f"{cpus} CPUs, {free:.1f} free (load {load:.2f})"
        facts = {"cpus_needed": self.demand.total, "cpus_free": round(free, 2), "cpus": cpus}
        need = f"the services need {self.demand.explain('cpu')} = {self.demand.total:g} CPUs"
        if cpus < self.demand.total:
            return Observation(
                observed,
                "fail",
                f"{need}: lower their limits or replicas, or use a larger host",
                facts,
            )
        # NOTE: the load average moves by the minute; a busy host is worth a warning, not a
        # refusal to deploy (docs/decisions/0017-validator-capacity.md).
        if free < self.demand.total:
            return Observation(observed, "warn", f"{need} and the host is busy now", facts)
        return Observation(observed, facts=facts)


def folder_size(root: Path) -> int:
    """Bytes of the regular files under `root`, leaving out `NOT_RELEASED` folders."""
    total = files = 0
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in NOT_RELEASED]
        for name in names:
            files += 1
            if files > MAX_FILES:
                raise CheckError(f"{root} has more than {MAX_FILES} files; not measured")
            try:
                info = (Path(folder) / name).lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


class ReleaseDiskCheck(Check):
    family = "capacity"

    def __init__(self, services: Mapping[str, ServiceSpec], scope: CheckScope) -> None:
        super().__init__("capacity disk", "room for keep_releases releases of each service")
        self.folders = {name: scope.base_dir / s.workdir for name, s in services.items()}
        self.keep = {name: s.keep_releases for name, s in services.items()}
        self.home = scope.home

    async def needed(self) -> tuple[int, list[str]]:
        total, terms = 0, []
        for name, folder in self.folders.items():
            size = await in_daemon_thread(folder_size, folder)
            total += size * self.keep[name]
            terms.append(f"{name} {size_text(size)} x {self.keep[name]}")
        return total, terms

    async def observe(self, host: Host) -> Observation:
        (need, terms), free = await asyncio.gather(
            self.needed(), disk_free(host, str(self.home) if host.local else ".")
        )
        observed = f"{size_text(free)} free, {size_text(need)} needed"
        facts = {"disk_needed": need, "disk_free": free}
        if free >= need:
            return Observation(observed, facts=facts)
        return Observation(
            observed,
            "fail",
            f"releases need {' + '.join(terms)}: free disk space or lower keep_releases",
            facts,
        )


@registry.register(RequirementsSpec)
def build(spec: RequirementsSpec, scope: CheckScope) -> list[Check]:
    if not spec.capacity or not scope.services:
        return []
    checks: list[Check] = []
    memory_needed = memory_demand(scope.services)
    if memory_needed.terms:
        checks.append(MemoryCapacityCheck(memory_needed))
    cpus_needed = cpu_demand(scope.services)
    if cpus_needed.terms:
        checks.append(CpuCapacityCheck(cpus_needed))
    checks.append(ReleaseDiskCheck(scope.services, scope))
    return checks
