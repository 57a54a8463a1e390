"""TLS of a service's port: the protocol versions it accepts (nothing below TLS 1.2) and
its certificate (expired or about to, self-signed, issued for another name).

The probe connects without verifying, on purpose: it reports what is wrong with the
certificate instead of failing on it."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
import warnings
from dataclasses import dataclass

from cryptography import x509

from shipway.scanner.findings import Severity
from shipway.scanner.runtime.problems import Problem, rule

#: A certificate that expires within this many days is reported before it breaks.
EXPIRY_WARNING_DAYS = 30

OLD_PROTOCOL = rule(
    "old-tls-version",
    "TLS older than 1.2 accepted",
    "TLS 1.0 and 1.1 are deprecated (RFC 8996): their ciphers and handshakes have known "
    "attacks (BEAST, POODLE-style downgrades), and PCI DSS forbids them.",
    "Set the server's minimum protocol to TLS 1.2 (`ssl_protocols TLSv1.2 TLSv1.3;`, "
    "`ssl.TLSVersion.TLSv1_2`).",
    Severity.HIGH,
)
EXPIRED = rule(
    "certificate-expired",
    "Certificate expired",
    "Clients refuse the connection, or users learn to click through warnings, which "
    "makes an attacker's certificate look no different.",
    "Renew the certificate, and automate renewal (ACME) so it cannot lapse again.",
    Severity.HIGH,
)
EXPIRING = rule(
    "certificate-expiring",
    "Certificate expires soon",
    f"The certificate expires within {EXPIRY_WARNING_DAYS} days; when it does, every client "
    "refuses the service.",
    "Renew it now, and automate renewal (ACME).",
    Severity.MEDIUM,
)
SELF_SIGNED = rule(
    "certificate-self-signed",
    "Self-signed certificate",
    "No client can tell this certificate from one an attacker makes; users and tools "
    "that accept it accept any.",
    "Use a certificate from a public CA (or your organization's CA, distributed to clients).",
    Severity.MEDIUM,
)
HOSTNAME_MISMATCH = rule(
    "certificate-hostname-mismatch",
    "Certificate does not name the host",
    "Clients that check the name refuse the connection; clients that do not would also "
    "accept an attacker's certificate for any name.",
    "Issue the certificate for the name clients use (a subjectAltName entry).",
    Severity.HIGH,
)
RULES = (OLD_PROTOCOL, EXPIRED, EXPIRING, SELF_SIGNED, HOSTNAME_MISMATCH)
_MODERN = ("TLSv1.2", "TLSv1.3")
_WARNINGS = threading.Lock()


@dataclass(frozen=True)
class Handshake:
    version: str
    certificate: x509.Certificate | None


def handshake(
    host: str, port: int, hostname: str, timeout: float, *, legacy: bool = False
) -> Handshake | None:
    """A TLS handshake with the port, or None when it does not speak TLS (or, with
    `legacy`, refuses every version below 1.2)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if legacy:
        # NOTE: OpenSSL 3 refuses TLS 1.0/1.1 at its default security level; level 0
        # lets the probe offer them, only to learn whether the server accepts them.
        # Python warns that the versions are deprecated: that is what the probe asks.
        with _WARNINGS, warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    server_name = None if _is_ip(hostname) else hostname
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=server_name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
            version = tls.version() or ""
    except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
        return None
    certificate = None
    if der:
        with contextlib.suppress(ValueError):
            certificate = x509.load_der_x509_certificate(der)
    return Handshake(version, certificate)


def tls_problems(
    first: Handshake,
    host: str,
    port: int,
    hostname: str,
    timeout: float,
    now: datetime.datetime,
) -> list[Problem]:
    """Problems of a port that answered `first` (a default handshake)."""
    out: list[Problem] = []
    old = first if first.version not in _MODERN else None
    old = old or handshake(host, port, hostname, timeout, legacy=True)
    if old is not None:
        detail = f"accepts {old.version or 'a protocol older than TLS 1.2'}"
        out.append(Problem(OLD_PROTOCOL, detail, properties={"tls_version": old.version}))
    if first.certificate is not None:
        out.extend(certificate_problems(first.certificate, hostname, now))
    return out


def certificate_problems(
    certificate: x509.Certificate, hostname: str, now: datetime.datetime
) -> list[Problem]:
    out: list[Problem] = []
    expires = certificate.not_valid_after_utc
    facts = {"expires": expires.isoformat(), "subject": certificate.subject.rfc4514_string()}
    if expires <= now:
        out.append(Problem(EXPIRED, f"expired on {expires.date().isoformat()}", properties=facts))
    elif expires <= now + datetime.timedelta(days=EXPIRY_WARNING_DAYS):
        days = (expires - now).days
        detail = f"expires on {expires.date().isoformat()} ({days} days)"
        out.append(Problem(EXPIRING, detail, properties=facts))
    if certificate.issuer == certificate.subject:
        out.append(
            Problem(SELF_SIGNED, f"presents a self-signed certificate for {facts['subject']}")
        )
    names = certificate_names(certificate)
    if not matches(hostname, names):
        shown = ", ".join(names) or "no names"
        detail = f"presents a certificate for {shown}, not {hostname}"
        out.append(Problem(HOSTNAME_MISMATCH, detail, properties={"names": shown}))
    return out


def certificate_names(certificate: x509.Certificate) -> list[str]:
    """The subjectAltName DNS names and IP addresses (the common name only without them,
    as browsers stopped reading it)."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        cn = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return [str(a.value) for a in cn]
    names = san.value.get_values_for_type(x509.DNSName)
    addresses = [str(a) for a in san.value.get_values_for_type(x509.IPAddress)]
    return [*names, *addresses]


def matches(hostname: str, names: list[str]) -> bool:
    """RFC 6125 matching: exact (case-insensitive), a wildcard for one left-most label,
    and IP addresses compared as addresses."""
    host = hostname.lower().rstrip(".")
    if _is_ip(host):
        wanted = ipaddress.ip_address(host.strip("[]"))
        return any(_is_ip(n) and ipaddress.ip_address(n) == wanted for n in names)
    for name in (n.lower().rstrip(".") for n in names):
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True
