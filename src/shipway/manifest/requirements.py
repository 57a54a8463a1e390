"""The `requirements` section: what the EnvironmentValidator checks before anything changes.

Each list entry is one check; the key that is present (`command`, `tcp`, `path`, ...) says
which kind it is, so the validator can map it to a registered `Check`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Discriminator, Field, Tag, WithJsonSchema

from shipway.manifest.fields import (
    Duration,
    FileMode,
    HostPort,
    HttpUrl,
    ManifestModel,
    Size,
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

_REQUIRED = "false makes a failed check a warning instead of stopping the deployment"


class HardwareRequirements(ManifestModel):
    """Minimum resources of the machine that runs the environment."""

    cpus: float | None = Field(None, gt=0, description="Logical CPUs the host must have.")
    memory: Size | None = Field(None, description="Total memory the host must have.")
    disk_free: Size | None = Field(
        None, description="Free space on the filesystem that holds `.shipway/`."
    )


class CommandRequirement(ManifestModel):
    """An executable that must be on PATH, optionally at a version."""

    command: str = Field(description="Executable name looked up on PATH.")
    version: VersionSpec | None = Field(None, description="PEP 440 specifier its version meets.")
    required: bool = Field(True, description=_REQUIRED)


class PythonPackageRequirement(ManifestModel):
    """A Python distribution that must be installed, optionally at a version."""

    python_package: str = Field(description="Distribution name as known to pip.")
    version: VersionSpec | None = Field(None, description="PEP 440 specifier its version meets.")
    required: bool = Field(True, description=_REQUIRED)


SoftwareRequirement = Annotated[
    Annotated[CommandRequirement, Tag("<command>")]
    | Annotated[PythonPackageRequirement, Tag("<python_package>")],
    Discriminator(
        keyed_by("command", "python_package"),
        custom_error_type="check_kind",
        custom_error_message="a software requirement needs a 'command' or 'python_package' key",
    ),
]


class TcpCheck(ManifestModel):
    """A TCP address that must accept connections."""

    tcp: HostPort = Field(description="`host:port` to connect to.")
    timeout: Duration = Field("5s", validate_default=True, description="Connect timeout.")
    required: bool = Field(True, description=_REQUIRED)


class HttpCheck(ManifestModel):
    """An HTTP(S) URL that must answer with the expected status."""

    http: HttpUrl = Field(description="URL to request with GET.")
    expect_status: int = Field(200, ge=100, le=599, description="Status code expected.")
    timeout: Duration = Field("5s", validate_default=True, description="Request timeout.")
    required: bool = Field(True, description=_REQUIRED)


class PortFreeCheck(ManifestModel):
    """A local TCP port that nothing may be listening on."""

    port_free: int = Field(ge=1, le=65535, description="Port number that must be free.")
    required: bool = Field(True, description=_REQUIRED)


NetworkCheck = Annotated[
    Annotated[TcpCheck, Tag("<tcp>")]
    | Annotated[HttpCheck, Tag("<http>")]
    | Annotated[PortFreeCheck, Tag("<port_free>")],
    Discriminator(
        keyed_by("tcp", "http", "port_free"),
        custom_error_type="check_kind",
        custom_error_message="a network check needs a 'tcp', 'http' or 'port_free' key",
    ),
]


class PathModeCheck(ManifestModel):
    """A path whose permissions must not be wider than a mode."""

    path: str = Field(description="File or folder, relative to the manifest's folder.")
    max_mode: FileMode = Field(description='Widest allowed permissions, e.g. "0700".')
    required: bool = Field(True, description=_REQUIRED)


class NotRootCheck(ManifestModel):
    """Whether shipway must refuse to run as root."""

    not_root: bool = Field(description="true: fail when running as root (uid 0).")
    required: bool = Field(True, description=_REQUIRED)


SecurityCheck = Annotated[
    Annotated[PathModeCheck, Tag("<path>")] | Annotated[NotRootCheck, Tag("<not_root>")],
    Discriminator(
        keyed_by("path", "not_root"),
        custom_error_type="check_kind",
        custom_error_message="a security check needs a 'path' or 'not_root' key",
    ),
]


class RequirementsSpec(ManifestModel):
    """Checks run by the validate stage; a failed required check stops the deployment."""

    hardware: HardwareRequirements = Field(
        default_factory=HardwareRequirements, description="Host resources."
    )
    software: list[SoftwareRequirement] = Field(
        default_factory=list, description="Executables and Python packages."
    )
    network: list[NetworkCheck] = Field(
        default_factory=list, description="Addresses to reach and ports that must be free."
    )
    security: list[SecurityCheck] = Field(
        default_factory=list, description="File permissions and the user shipway runs as."
    )
    capacity: bool = Field(
        True, description="Check that the services' declared limits fit what the host has free."
    )
