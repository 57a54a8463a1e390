"""Security: file modes and owners, not running as root, environment variables that must
be set (their values are never read into a result), the oldest TLS version an endpoint
accepts."""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from shipway.manifest import requirements as req
from shipway.validator.hosts import Host, LocalHost
from shipway.validator.interface import Check, CheckError, Observation
from shipway.validator.registry import CheckScope, registry
from shipway.validator.tls import TLS_VERSIONS, accepted_versions


@dataclass(frozen=True)
class FileStat:
    mode: int
    uid: int
    owner: str


async def file_stat(host: Host, path: str) -> FileStat | None:
    """Permission bits and owner of `path` (symlinks followed); None when it is missing."""
    if host.local:
        try:
            found = Path(path).stat()
        except FileNotFoundError:
            return None
        try:
            owner = pwd.getpwuid(found.st_uid).pw_name
        except KeyError:
            owner = str(found.st_uid)
        return FileStat(stat.S_IMODE(found.st_mode), found.st_uid, owner)
    done = await host.run(["stat", "-L", "-c", "%a %u %U", "--", path])
    if not done.ok:
        if "No such file" in done.stderr:
            return None
        raise CheckError(f"stat {path} failed: {done.output[:160]}")
    mode, uid, owner = done.stdout.split()
    return FileStat(int(mode, 8), int(uid), owner)


class PathModeCheck(Check):
    family = "security"

    def __init__(self, spec: req.PathModeCheck) -> None:
        wanted = []
        if spec.max_mode is not None:
            wanted.append(f"mode <= {int(spec.max_mode, 8):04o}")
        if spec.owner is not None:
            wanted.append(f"owner {spec.owner}")
        super().__init__(f"path {spec.path}", ", ".join(wanted), required=spec.required)
        self.spec = spec
        self.max_mode = None if spec.max_mode is None else int(spec.max_mode, 8)

    async def observe(self, host: Host) -> Observation:
        path = host.path(self.spec.path)
        found = await file_stat(host, path)
        if found is None:
            return Observation(
                "does not exist", "warn", f"nothing to protect yet; create {path} with the mode"
            )
        observed = f"mode {found.mode:04o}, owner {found.owner}"
        facts = {"mode": f"{found.mode:04o}", "owner": found.owner}
        problems = []
        if self.max_mode is not None and found.mode & ~self.max_mode:
            problems.append(f"chmod {found.mode & self.max_mode:04o} {path}")
        owner = self.spec.owner
        if owner is not None and owner not in (found.owner, str(found.uid)):
            problems.append(f"chown {owner} {path}")
        if problems:
            return Observation(observed, "fail", "; ".join(problems), facts)
        return Observation(observed, facts=facts)


class NotRootCheck(Check):
    family = "security"

    def __init__(self, spec: req.NotRootCheck) -> None:
        super().__init__("not root", "a user other than root", required=spec.required)

    async def observe(self, host: Host) -> Observation:
        if host.local:
            uid = os.geteuid()
            try:
                name = pwd.getpwuid(uid).pw_name
            except KeyError:
                name = str(uid)
        else:
            done = await host.run(["id", "-u", "-n"])
            numeric = await host.run(["id", "-u"])
            if not (done.ok and numeric.ok and numeric.stdout.strip().isdigit()):
                raise CheckError(f"id failed on the host: {done.output[:160]}")
            uid, name = int(numeric.stdout.strip()), done.stdout.strip()
        observed = f"uid {uid} ({name})"
        facts = {"uid": uid, "user": name}
        if uid == 0:
            return Observation(
                observed, "fail", "run shipway as an unprivileged user (a deploy account)", facts
            )
        return Observation(observed, facts=facts)


class EnvVarCheck(Check):
    family = "security"

    def __init__(self, spec: req.EnvVarCheck) -> None:
        super().__init__(f"env {spec.env}", "set", required=spec.required)
        self.variable = spec.env

    async def is_set(self, host: Host) -> bool:
        # NOTE: only presence is ever read; the value never enters a result or a log.
        if isinstance(host, LocalHost):
            return self.variable in (os.environ if host.env is None else host.env)
        # The name matched ^[A-Za-z_][A-Za-z0-9_]*$ at load time, so it is safe in the script.
        done = await host.run(["sh", "-c", f'test "${{{self.variable}+set}}" = set'])
        return done.ok

    async def observe(self, host: Host) -> Observation:
        if await self.is_set(host):
            return Observation("set", facts={"set": True})
        return Observation(
            "not set", "fail", f"export {self.variable} in shipway's environment", {"set": False}
        )


class TlsProtocolCheck(Check):
    family = "security"

    def __init__(self, spec: req.TlsProtocolCheck) -> None:
        super().__init__(
            f"tls protocol {spec.tls_protocol}",
            f"refuses below TLS {spec.min_version}",
            required=spec.required,
            timeout=spec.timeout,
        )
        self.address = spec.tls_protocol
        self.minimum = TLS_VERSIONS[spec.min_version]

    async def observe(self, host: Host) -> Observation:
        answers = await accepted_versions(host, self.address)
        accepted = [name for name, ok in answers.items() if ok]
        too_old = [name for name in accepted if TLS_VERSIONS[name] < self.minimum]
        facts = {"accepted": accepted}
        if not accepted:
            return Observation("no TLS version accepted", "fail", "check it speaks TLS", facts)
        observed = "accepts TLS " + ", ".join(accepted)
        if too_old:
            return Observation(
                observed,
                "fail",
                f"disable TLS {', '.join(too_old)} on {self.address} (set its minimum protocol "
                f"version)",
                facts,
            )
        return Observation(observed, facts=facts)


@registry.register(req.PathModeCheck)
def build_path(spec: req.PathModeCheck, scope: CheckScope) -> list[Check]:
    return [PathModeCheck(spec)]


@registry.register(req.NotRootCheck)
def build_not_root(spec: req.NotRootCheck, scope: CheckScope) -> list[Check]:
    return [NotRootCheck(spec)] if spec.not_root else []


@registry.register(req.EnvVarCheck)
def build_env(spec: req.EnvVarCheck, scope: CheckScope) -> list[Check]:
    return [EnvVarCheck(spec)]


@registry.register(req.TlsProtocolCheck)
def build_tls_protocol(spec: req.TlsProtocolCheck, scope: CheckScope) -> list[Check]:
    return [TlsProtocolCheck(spec)]
