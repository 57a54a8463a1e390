"""The `requirements` section: what the EnvironmentValidator checks before anything changes.

Each list entry is one check; the key that is present (`command`, `tcp`, `path`, ...) says
which kind it is, so the validator can map it to a registered `Check`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    WithJsonSchema,
    model_serializer,
    model_validator,
)

from shipway.manifest.fields import (
    Duration,
    FileMode,
    HostPort,
    HttpUrl,
    ManifestModel,
    ModelProblem,
    Size,
    VariableName,
    keyed_by,
)

_CLAUSE = re.compile(r"\s*(~=|===|==|!=|<=|>=|<|>)\s*[0-9A-Za-z.*+!_-]+\s*")


def _check_version_spec(value: str) -> str:
    if not all(_CLAUSE.fullmatch(clause) for clause in value.split(",")):
        raise ValueError(f"invalid version specifier {value[:60]!r}: write it like '>=3.10,<4'")
    return value


VersionSpec = Annotated[
    str,
    AfterValidator(_check_version_spec),
    WithJsonSchema({"type": "string", "examples": [">=3.10", ">=1.2,<2"]}),
]


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as e:
        raise ValueError(f"invalid regular expression {value[:60]!r}: {e}") from e
    return value


Regex = Annotated[str, AfterValidator(_check_regex), WithJsonSchema({"type": "string"})]


def _check_host_path(value: str) -> str:
    # NOTE: these paths are only looked at (stat, free space), never read or written, so an
    # absolute path is allowed; a relative one must stay under the manifest's folder.
    if not value or "\x00" in value:
        raise ValueError(f"invalid path {value[:60]!r}")
    if not value.startswith("/") and ".." in value.split("/"):
        raise ValueError(f"{value!r} leaves the manifest's folder ('..' is not allowed)")
    return value


HostPath = Annotated[str, AfterValidator(_check_host_path), WithJsonSchema({"type": "string"})]


def _check_tls_version(value: Any) -> Any:
    if isinstance(value, float | int) and not isinstance(value, bool):
        value = str(value)
    if value not in ("1.0", "1.1", "1.2", "1.3"):
        raise ValueError(f"invalid TLS version {str(value)[:20]!r}: use one of 1.0, 1.1, 1.2, 1.3")
    return value


TlsVersion = Annotated[
    str,
    BeforeValidator(_check_tls_version),
    WithJsonSchema({"type": "string", "enum": ["1.0", "1.1", "1.2", "1.3"]}),
]


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


_REQUIRED = "false makes a failed check a warning instead of stopping the deployment"
_TIMEOUT = "Time the check may take before it fails."


class CheckModel(ManifestModel):
    """Base of the check entries: optional keys that were not written stay out of a dump."""

    # NOTE: check kinds gain optional keys as the validator grows; leaving unset `null`s out
    # of the dump means a new optional key does not change the digest of manifests that do
    # not use it, so a digest recorded earlier (a rolled-back manifest) still matches.
    @model_serializer(mode="wrap")
    def _omit_unset_nulls(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not isinstance(data, dict):
            return data
        unset = set(type(self).model_fields) - self.model_fields_set
        aliases = {type(self).model_fields[name].alias or name for name in unset}
        return {k: v for k, v in data.items() if not (v is None and (k in unset or k in aliases))}


class HardwareRequirements(CheckModel):
    """Minimum resources of the machine that runs the environment (each host, for ssh)."""

    cpus: float | None = Field(None, gt=0, description="Logical CPUs the host must have.")
    memory: Size | None = Field(None, description="Total memory the host must have.")
    memory_available: Size | None = Field(
        None, description="Memory that must be available (free or reclaimable) right now."
    )
    disk_free: Size | None = Field(
        None, description="Free space on the filesystem that holds `disk_path`."
    )
    disk_path: HostPath | None = Field(
        None,
        description="Folder whose filesystem needs `disk_free`: relative to the manifest's "
        "folder (on an ssh host, to the login's home). Default: the folder of `.shipway/` "
        "(on an ssh host, the home).",
    )
    arch: Annotated[list[str], BeforeValidator(_one_or_many)] | None = Field(
        None,
        description="Accepted machine architectures (`x86_64`, `aarch64`; `amd64` and "
        "`arm64` are understood); one name or a list.",
    )


class CommandRequirement(CheckModel):
    """An executable that must be on PATH, optionally at a version."""

    command: str = Field(min_length=1, description="Executable name looked up on PATH.")
    version: VersionSpec | None = Field(None, description="PEP 440 specifier its version meets.")
    version_flag: str = Field(
        "--version", min_length=1, description="Argument that makes it print its version."
    )
    version_pattern: Regex | None = Field(
        None,
        description="Regular expression that finds the version in that output (its first "
        "group, or the whole match). Default: the first number such as `3.11.2`.",
    )
    timeout: Duration = Field("10s", validate_default=True, description=_TIMEOUT)
    required: bool = Field(True, description=_REQUIRED)


class PythonPackageRequirement(CheckModel):
    """A Python distribution that must be installed, optionally at a version."""

    python_package: str = Field(
        min_length=1,
        description="Distribution name as known to pip; looked up in shipway's interpreter "
        "(on an ssh host, in its `python3`).",
    )
    version: VersionSpec | None = Field(None, description="PEP 440 specifier its version meets.")
    required: bool = Field(True, description=_REQUIRED)


class OsPackageRequirement(CheckModel):
    """An operating-system package that must be installed (dpkg or rpm)."""

    os_package: str = Field(min_length=1, description="Package name, e.g. `nginx`.")
    version: VersionSpec | None = Field(
        None, description="Specifier its upstream version (epoch and revision left out) meets."
    )
    required: bool = Field(True, description=_REQUIRED)


class ProcessRequirement(CheckModel):
    """A process that must be running."""

    process: str = Field(min_length=1, description="Process name, e.g. `postgres`.")
    required: bool = Field(True, description=_REQUIRED)


class UnitRequirement(CheckModel):
    """A systemd unit that must be active."""

    unit: str = Field(min_length=1, description="Unit name, e.g. `postgresql.service`.")
    required: bool = Field(True, description=_REQUIRED)


SoftwareRequirement = Annotated[
    Annotated[CommandRequirement, Tag("<command>")]
    | Annotated[PythonPackageRequirement, Tag("<python_package>")]
    | Annotated[OsPackageRequirement, Tag("<os_package>")]
    | Annotated[ProcessRequirement, Tag("<process>")]
    | Annotated[UnitRequirement, Tag("<unit>")],
    Discriminator(
        keyed_by("command", "python_package", "os_package", "process", "unit"),
        custom_error_type="check_kind",
        custom_error_message="a software requirement needs a 'command' or 'python_package' "
        "key, or an 'os_package', 'process' or 'unit' key",
    ),
]


class TcpCheck(CheckModel):
    """A TCP address that must accept connections."""

    tcp: HostPort = Field(description="`host:port` to connect to.")
    timeout: Duration = Field("5s", validate_default=True, description="Connect timeout.")
    max_latency: Duration | None = Field(
        None, description="Slowest acceptable connect time; slower fails."
    )
    required: bool = Field(True, description=_REQUIRED)


class HttpCheck(CheckModel):
    """An HTTP(S) URL that must answer with the expected status."""

    http: HttpUrl = Field(description="URL to request with GET.")
    expect_status: int = Field(200, ge=100, le=599, description="Status code expected.")
    expect_body: Regex | None = Field(
        None, description="Regular expression the response body must contain a match of."
    )
    verify: bool = Field(True, description="Verify the server's certificate (https).")
    timeout: Duration = Field("5s", validate_default=True, description="Request timeout.")
    required: bool = Field(True, description=_REQUIRED)


class PortFreeCheck(CheckModel):
    """A local TCP port that nothing may be listening on."""

    port_free: int = Field(ge=1, le=65535, description="Port number that must be free.")
    required: bool = Field(True, description=_REQUIRED)


class DnsCheck(CheckModel):
    """A host name that must resolve."""

    dns: str = Field(min_length=1, max_length=253, description="Name to resolve.")
    timeout: Duration = Field("5s", validate_default=True, description="Resolution timeout.")
    required: bool = Field(True, description=_REQUIRED)


class TlsCheck(CheckModel):
    """A TLS endpoint whose certificate must be valid for a while yet."""

    tls: HostPort = Field(description="`host:port` of the endpoint.")
    min_days: int = Field(14, ge=0, description="Days the certificate must still be valid.")
    verify: bool = Field(
        True, description="Also verify the chain and the host name (against `ca_file`)."
    )
    ca_file: HostPath | None = Field(
        None, description="CA certificates to trust instead of the system's (PEM file)."
    )
    timeout: Duration = Field("5s", validate_default=True, description="Handshake timeout.")
    required: bool = Field(True, description=_REQUIRED)


NetworkCheck = Annotated[
    Annotated[TcpCheck, Tag("<tcp>")]
    | Annotated[HttpCheck, Tag("<http>")]
    | Annotated[PortFreeCheck, Tag("<port_free>")]
    | Annotated[DnsCheck, Tag("<dns>")]
    | Annotated[TlsCheck, Tag("<tls>")],
    Discriminator(
        keyed_by("tcp", "http", "port_free", "dns", "tls"),
        custom_error_type="check_kind",
        custom_error_message="a network check needs a 'tcp', 'http' or 'port_free' key, "
        "or a 'dns' or 'tls' key",
    ),
]


class PathModeCheck(CheckModel):
    """A path whose permissions must not be wider than a mode, or that a user must own."""

    path: HostPath = Field(
        description="File or folder: relative to the manifest's folder (on an ssh host, to "
        "the login's home), or absolute."
    )
    max_mode: FileMode | None = Field(None, description='Widest allowed permissions, e.g. "0700".')
    owner: str | None = Field(None, min_length=1, description="User that must own it.")
    required: bool = Field(True, description=_REQUIRED)

    @model_validator(mode="after")
    def _something_to_check(self) -> PathModeCheck:
        if self.max_mode is None and self.owner is None:
            raise ModelProblem("a path check needs 'max_mode', 'owner' or both")
        return self


class NotRootCheck(CheckModel):
    """Whether shipway must refuse to run as root."""

    not_root: bool = Field(description="true: fail when running as root (uid 0).")
    required: bool = Field(True, description=_REQUIRED)


class EnvVarCheck(CheckModel):
    """An environment variable that must be set; its value is never shown."""

    env: VariableName = Field(description="Variable name, e.g. `DATABASE_URL`.")
    required: bool = Field(True, description=_REQUIRED)


class TlsProtocolCheck(CheckModel):
    """A TLS endpoint that must refuse protocol versions older than a minimum."""

    tls_protocol: HostPort = Field(description="`host:port` of the endpoint.")
    min_version: TlsVersion = Field(description='Oldest version it may accept, e.g. "1.2".')
    timeout: Duration = Field("5s", validate_default=True, description="Handshake timeout.")
    required: bool = Field(True, description=_REQUIRED)


SecurityCheck = Annotated[
    Annotated[PathModeCheck, Tag("<path>")]
    | Annotated[NotRootCheck, Tag("<not_root>")]
    | Annotated[EnvVarCheck, Tag("<env>")]
    | Annotated[TlsProtocolCheck, Tag("<tls_protocol>")],
    Discriminator(
        keyed_by("path", "not_root", "env", "tls_protocol"),
        custom_error_type="check_kind",
        custom_error_message="a security check needs a 'path' or 'not_root' key, "
        "or an 'env' or 'tls_protocol' key",
    ),
]


class RequirementsSpec(ManifestModel):
    """Checks run by the validate stage; a failed required check stops the deployment."""

    hardware: HardwareRequirements = Field(
        default_factory=HardwareRequirements, description="Host resources."
    )
    software: list[SoftwareRequirement] = Field(
        default_factory=list,
        description="Executables, Python and OS packages, processes and units.",
    )
    network: list[NetworkCheck] = Field(
        default_factory=list,
        description="Names to resolve, addresses to reach, certificates, free ports.",
    )
    security: list[SecurityCheck] = Field(
        default_factory=list,
        description="File permissions, the user shipway runs as, environment variables, "
        "TLS protocol versions.",
    )
    capacity: bool = Field(
        True,
        description="Check that the services' declared limits fit what the host has free, "
        "and that `keep_releases` releases fit on its disk.",
    )
