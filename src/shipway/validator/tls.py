"""TLS handshakes made from a host: the peer's certificate, and which protocol versions an
endpoint accepts.

Connections come from `Host.open_connection`, so on an SSH host the handshake is made from
there (through the SSH connection) while the TLS itself runs here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import warnings
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from shipway.validator.hosts import Host, error_text
from shipway.validator.interface import CheckError

#: TLS versions by the name the manifest uses.
TLS_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True)
class Certificate:
    """The dates and names of a peer certificate."""

    subject: str
    not_before: datetime
    not_after: datetime

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        cert = x509.load_der_x509_certificate(der)
        return cls(
            cert.subject.rfc4514_string(), cert.not_valid_before_utc, cert.not_valid_after_utc
        )


@dataclass(frozen=True)
class Handshake:
    version: str
    certificate: Certificate | None


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) as (host, port)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def client_context(
    *,
    verify: bool = True,
    ca_file: str | None = None,
    version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A client context; `version` pins the protocol (probing old ones needs every cipher)."""
    if ca_file is not None:
        return ssl.create_default_context(cafile=ca_file)  # read anew: the file may change
    return _shared_context(verify, version)


@functools.cache
def _shared_context(verify: bool, version: ssl.TLSVersion | None) -> ssl.SSLContext:
    # NOTE: loading the system's CA store takes tens of milliseconds of CPU; a context is
    # reusable, so checks share one per kind instead of stalling the event loop each time.
    if verify:
        context = ssl.create_default_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if version is not None:
        # NOTE: TLS 1.0/1.1 are deprecated in Python and disabled at OpenSSL's default
        # security level; a probe must still be able to offer them to see if a server accepts.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = version
            context.maximum_version = version
        if version < ssl.TLSVersion.TLSv1_2:
            context.set_ciphers("ALL:@SECLEVEL=0")
    return context


async def handshake(
    host: Host, address: str, context: ssl.SSLContext, server_name: str | None = None
) -> Handshake:
    """Connect from `host` to `address` and complete a TLS handshake with `context`.
    Raises `ssl.SSLError` when the handshake fails, `OSError` when the connection does."""
    name, port = split_address(address)
    _, writer = await host.open_connection(name, port)
    try:
        await writer.start_tls(context, server_hostname=server_name or name)
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        version = tls.version() if tls is not None else None
        return Handshake(version or "?", Certificate.from_der(der) if der else None)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def accepted_versions(host: Host, address: str) -> dict[str, bool]:
    """For each TLS version this Python can offer: whether `address` accepts it."""

    async def probe(name: str, version: ssl.TLSVersion) -> tuple[str, bool]:
        try:
            context = client_context(verify=False, version=version)
        except (ssl.SSLError, ValueError):
            return name, False  # this OpenSSL cannot speak it at all
        try:
            await handshake(host, address, context)
        except ssl.SSLError:
            return name, False
        except ConnectionResetError:
            return name, False  # some servers reset instead of sending an alert
        except OSError as e:
            raise CheckError(
                f"cannot connect to {address}: {error_text(e)}",
                f"start what should listen on {address}",
            ) from e
        return name, True

    answers = await asyncio.gather(*(probe(n, v) for n, v in TLS_VERSIONS.items()))
    return dict(answers)
