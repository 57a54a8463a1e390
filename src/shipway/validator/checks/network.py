"""Network: DNS resolution, TCP connect with latency, HTTP(S) status and body, TLS
certificate validity and days left, ports that must be free (and who holds them).

Connections are made from the host being checked (`Host.open_connection`).
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import psutil

from shipway.manifest import requirements as req
from shipway.validator.hosts import NOT_FOUND, Host, error_text, in_daemon_thread
from shipway.validator.http import http_get
from shipway.validator.interface import Check, CheckError, Observation
from shipway.validator.registry import CheckScope, registry
from shipway.validator.tls import Certificate, client_context, handshake, split_address
from shipway.validator.units import seconds_text
from shipway.workspace import mask_url

_SS_USER = re.compile(r'\("([^"]*)",pid=(\d+)')


def _unreachable(address: str, error: OSError) -> Observation:
    return Observation(
        error_text(error),
        "fail",
        f"start what should listen on {address}, or open the firewall to it",
    )


class DnsResolutionCheck(Check):
    family = "network"

    def __init__(self, spec: req.DnsCheck) -> None:
        super().__init__(
            f"dns {spec.dns}", "resolves", required=spec.required, timeout=spec.timeout
        )
        self.name_to_resolve = spec.dns

    async def addresses(self, host: Host) -> list[str]:
        if host.local:
            try:
                infos = await in_daemon_thread(
                    socket.getaddrinfo, self.name_to_resolve, None, 0, socket.SOCK_STREAM
                )
            except socket.gaierror:
                return []
            return list(dict.fromkeys(str(info[4][0]) for info in infos))
        done = await host.run(["getent", "ahosts", "--", self.name_to_resolve])
        if done.exit_status == NOT_FOUND:
            raise CheckError("getent not found on the host")
        return list(dict.fromkeys(line.split()[0] for line in done.stdout.splitlines() if line))

    async def observe(self, host: Host) -> Observation:
        started = time.perf_counter()
        found = await self.addresses(host)
        took = seconds_text(time.perf_counter() - started)
        if not found:
            return Observation(
                "does not resolve",
                "fail",
                f"add a DNS record (or /etc/hosts entry) for {self.name_to_resolve}",
            )
        shown = ", ".join(found[:3]) + (f" (+{len(found) - 3})" if len(found) > 3 else "")
        return Observation(f"{shown} in {took}", facts={"addresses": found})


class TcpConnectCheck(Check):
    family = "network"

    def __init__(self, spec: req.TcpCheck) -> None:
        expected = "accepts connections"
        if spec.max_latency is not None:
            expected += f" within {seconds_text(spec.max_latency)}"
        super().__init__(f"tcp {spec.tcp}", expected, required=spec.required, timeout=spec.timeout)
        self.address = spec.tcp
        self.max_latency = spec.max_latency

    async def observe(self, host: Host) -> Observation:
        name, port = split_address(self.address)
        started = time.perf_counter()
        try:
            _, writer = await host.open_connection(name, port)
        except OSError as e:
            return _unreachable(self.address, e)
        latency = time.perf_counter() - started
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        facts = {"latency_ms": round(latency * 1000, 2)}
        observed = f"connected in {seconds_text(latency)}"
        if self.max_latency is not None and latency > self.max_latency:
            return Observation(
                observed, "fail", "the network path to it is slow; check the route", facts
            )
        return Observation(observed, facts=facts)


class HttpStatusCheck(Check):
    family = "network"

    def __init__(self, spec: req.HttpCheck) -> None:
        expected = f"status {spec.expect_status}"
        if spec.expect_body is not None:
            expected += f", body matches {spec.expect_body!r}"
        # NOTE: a password in the URL is sent (basic auth) but never shown.
        self.shown_url = mask_url(spec.http)
        super().__init__(
            f"http {self.shown_url}", expected, required=spec.required, timeout=spec.timeout
        )
        self.spec = spec

    async def observe(self, host: Host) -> Observation:
        spec = self.spec
        try:
            answer = await http_get(
                host, spec.http, verify=spec.verify, body=spec.expect_body is not None
            )
        except ssl.SSLCertVerificationError as e:
            return Observation(
                f"certificate not trusted: {e.verify_message}",
                "fail",
                "fix the server's certificate, or set verify: false",
            )
        except ssl.SSLError as e:
            return Observation(error_text(e), "fail", "check that the server speaks TLS")
        except OSError as e:
            return _unreachable(self.shown_url, e)
        facts = {"status": answer.status, "latency_ms": round(answer.seconds * 1000, 2)}
        observed = f"{answer.status} in {seconds_text(answer.seconds)}"
        if answer.status != spec.expect_status:
            return Observation(
                observed,
                "fail",
                f"it answers {answer.status}, {spec.expect_status} expected",
                facts,
            )
        if spec.expect_body is not None:
            text = answer.body.decode("utf-8", "replace")
            if re.search(spec.expect_body, text) is None:
                return Observation(
                    f"{observed}, body does not match",
                    "fail",
                    f"the body ({len(answer.body)} bytes) has no match of {spec.expect_body!r}",
                    facts,
                )
        return Observation(observed, facts=facts)


class TlsCertificateCheck(Check):
    family = "network"

    def __init__(self, spec: req.TlsCheck, scope: CheckScope) -> None:
        super().__init__(
            f"tls {spec.tls}",
            f"certificate valid for >= {spec.min_days} days",
            required=spec.required,
            timeout=spec.timeout,
        )
        self.spec = spec
        ca = spec.ca_file
        self.ca_file = None if ca is None else str(scope.base_dir / ca)  # read here, not there

    async def observe(self, host: Host) -> Observation:
        spec = self.spec
        trusted_error = None
        try:
            context = client_context(verify=spec.verify, ca_file=self.ca_file)
        except OSError as e:
            raise CheckError(f"cannot read ca_file {spec.ca_file}: {e.strerror}") from e
        try:
            shaken = await handshake(host, spec.tls, context)
        except ssl.SSLCertVerificationError as e:
            trusted_error = e.verify_message
            shaken = await handshake(host, spec.tls, client_context(verify=False))
        except ssl.SSLError as e:
            return Observation(error_text(e), "fail", f"check that {spec.tls} speaks TLS")
        except OSError as e:
            return _unreachable(spec.tls, e)
        return self.judge(shaken.certificate, trusted_error)

    def judge(self, certificate: Certificate | None, trusted_error: str | None) -> Observation:
        if certificate is None:
            return Observation("no certificate", "fail", "configure a certificate on the endpoint")
        now = datetime.now(UTC)
        left = certificate.not_after - now
        days = int(left.total_seconds() // 86400)
        until = certificate.not_after.strftime("%Y-%m-%d")
        facts = {"days_left": days, "not_after": certificate.not_after.isoformat()}
        renew = f"renew the certificate of {self.spec.tls}"
        if left.total_seconds() <= 0:
            return Observation(f"expired on {until}", "fail", renew, facts)
        if certificate.not_before > now:
            since = certificate.not_before.strftime("%Y-%m-%d %H:%M")
            return Observation(
                f"not valid before {since} UTC", "fail", "check the host's clock", facts
            )
        observed = f"expires {until}, in {days} days"
        if trusted_error is not None:
            return Observation(
                f"{observed}; not trusted: {trusted_error}",
                "fail",
                "use a certificate from a trusted CA, or name the CA in ca_file",
                facts,
            )
        if days < self.spec.min_days:
            return Observation(
                observed, "fail", f"{renew}: {days} days left, {self.spec.min_days} required", facts
            )
        return Observation(observed, facts=facts)


@dataclass(frozen=True)
class Listener:
    """A TCP socket in LISTEN state and who holds it (when it can be known)."""

    address: str
    port: int
    pid: int | None
    process: str | None

    def holder(self) -> str:
        if self.pid is None:
            return "a process shipway may not see (run as its owner or root to name it)"
        return f"pid {self.pid}" + (f" ({self.process})" if self.process else "")


async def listeners(host: Host) -> list[Listener]:
    """The host's listening TCP sockets, read once per host."""

    def read_local() -> list[Listener]:
        found = []
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status != psutil.CONN_LISTEN or not conn.laddr:
                continue
            name = None
            if conn.pid is not None:
                with contextlib.suppress(psutil.Error):
                    name = psutil.Process(conn.pid).name()
            found.append(Listener(conn.laddr.ip, conn.laddr.port, conn.pid, name))
        return found

    async def read() -> list[Listener]:
        if host.local:
            return await in_daemon_thread(read_local)
        done = await host.run(["ss", "-Htlnp"])
        if done.exit_status == NOT_FOUND:
            raise CheckError("ss not found on the host", "install iproute2 on the host")
        return [parsed for line in done.stdout.splitlines() if (parsed := _ss_line(line))]

    return await host.fact("listeners", read)


def _ss_line(line: str) -> Listener | None:
    # LISTEN 0 4096 0.0.0.0:22 0.0.0.0:* users:(("sshd",pid=123,fd=3))
    fields = line.split()
    if len(fields) < 4 or not fields[3].rpartition(":")[2].isdigit():
        return None
    address, _, port = fields[3].rpartition(":")
    user = _SS_USER.search(line)
    pid = int(user[2]) if user else None
    return Listener(address.strip("[]"), int(port), pid, user[1] if user else None)


class PortFreeCheck(Check):
    family = "network"

    def __init__(self, spec: req.PortFreeCheck, scope: CheckScope) -> None:
        super().__init__(f"port {spec.port_free}", "free", required=spec.required)
        self.port = spec.port_free
        self.own_pids = scope.own_pids

    async def observe(self, host: Host) -> Observation:
        held = [item for item in await listeners(host) if item.port == self.port]
        if not held:
            return Observation("free", facts={"free": True})
        first = held[0]
        facts = {
            "free": False,
            "pid": first.pid,
            "process": first.process,
            "address": first.address,
        }
        if host.local and first.pid is not None and first.pid in self.own_pids:
            return Observation(f"held by this shipway agent (pid {first.pid})", facts=facts)
        observed = f"held by {first.holder()} on {first.address}"
        return Observation(
            observed, "fail", f"free port {self.port}: held by {first.holder()}", facts
        )


@registry.register(req.DnsCheck)
def build_dns(spec: req.DnsCheck, scope: CheckScope) -> list[Check]:
    return [DnsResolutionCheck(spec)]


@registry.register(req.TcpCheck)
def build_tcp(spec: req.TcpCheck, scope: CheckScope) -> list[Check]:
    return [TcpConnectCheck(spec)]


@registry.register(req.HttpCheck)
def build_http(spec: req.HttpCheck, scope: CheckScope) -> list[Check]:
    return [HttpStatusCheck(spec)]


@registry.register(req.TlsCheck)
def build_tls(spec: req.TlsCheck, scope: CheckScope) -> list[Check]:
    return [TlsCertificateCheck(spec, scope)]


@registry.register(req.PortFreeCheck)
def build_port_free(spec: req.PortFreeCheck, scope: CheckScope) -> list[Check]:
    return [PortFreeCheck(spec, scope)]
