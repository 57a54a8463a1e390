"""The `Scanner` plugin seam: one class per kind of scan, each yielding `Finding`s.

A scanner reads; it never changes the scanned folder. It raises `ScannerError` when it
cannot do its job (a database unreachable, git failing) and `ScanInputError` when the
user's input is wrong (a lockfile that does not parse), with the file position.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from shipway.errors import InputError, ShipwayError
from shipway.scanner.findings import Finding, Rule

if TYPE_CHECKING:
    from shipway.manifest import LoadedManifest, ResolvedEnvironment
    from shipway.models import ResourceDescriptor
    from shipway.scanner.runtime.endpoints import ServiceEndpoint


class ScannerError(ShipwayError):
    """A scanner could not finish: the scan is incomplete, so it cannot pass a gate."""


class ScanInputError(InputError):
    """A file the scan reads is malformed; the message starts with `file:line:col`."""

    def __init__(
        self, reason: str, *, path: Path | str, line: int | None = None, column: int | None = None
    ) -> None:
        self.reason = reason
        self.path = str(path)
        self.line = line
        self.column = column
        where = self.path
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {reason}")


def never() -> bool:
    """A `cancelled` callback for scans nobody cancels."""
    return False


@dataclass(frozen=True)
class ScanTarget:
    """What to scan and with which settings.

    `vulnerability_db` is `osv` (the public OSV API), an `http(s)://` URL of a server
    speaking the OSV API, or an absolute path to an OSV export (a folder or a zip).
    """

    root: Path
    vulnerability_db: str = "osv"
    #: Where the manifest sets `vulnerability_db` (`file:line:col`), for error messages.
    vulnerability_db_origin: str = ""
    environment_name: str | None = None
    manifest: LoadedManifest | None = field(default=None, repr=False)
    environment: ResolvedEnvironment | None = field(default=None, repr=False)
    cancelled: Callable[[], bool] = field(default=never, repr=False, compare=False)
    #: Resources provisioned for the environment (the store's record), for the
    #: misconfiguration rules; empty when none are known.
    resources: tuple[ResourceDescriptor, ...] = field(default=(), repr=False)
    #: Released services to probe (the runtime scanner); empty when none run.
    services: tuple[ServiceEndpoint, ...] = field(default=(), repr=False)
    #: The workspace home (`.shipway/`), where the configuration manager looks for the
    #: secret backend's settings; secret values are never read by a scan.
    home: Path | None = None


class Scanner(ABC):
    """One kind of scan. Subclasses set `name` and implement `scan`."""

    name: ClassVar[str]

    def rules(self) -> Sequence[Rule]:
        """The rules this scanner's findings may name (for SARIF and documentation)."""
        return ()

    def unavailable(self) -> str | None:
        """Why this scanner cannot run here (an optional dependency missing), or None."""
        return None

    @abstractmethod
    def scan(self, target: ScanTarget) -> Iterator[Finding]:
        """Yield every finding under `target.root`."""
