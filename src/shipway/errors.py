"""The one tree of errors the library raises.

The library never prints and never exits: it raises one of these, and only `shipway.cli`
turns them into messages and exit codes (DESIGN.md section 5).
"""

from __future__ import annotations

from pathlib import Path


class ShipwayError(Exception):
    """Root of every error shipway raises on purpose."""


class InputError(ShipwayError):
    """Bad input from the user: arguments, files, identifiers. The CLI exits 2."""


class ManifestError(InputError):
    """A manifest that cannot be used, with the place in the file that is wrong."""

    def __init__(
        self, reason: str, *, path: Path | str, line: int | None = None, column: int | None = None
    ) -> None:
        self.reason = reason
        self.path = str(path)
        self.line = line
        self.column = column
        super().__init__(self.location() + ": " + reason)

    def location(self) -> str:
        """`file:line:col` (1-based), as far as the position is known."""
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where


class StoreError(ShipwayError):
    """The state store could not be opened, migrated, read or written."""


class NotFoundError(InputError):
    """A deployment, release or other record named by the user does not exist."""


class BlockedError(ShipwayError):
    """The operation may not run now: a lease is held, an approval is pending, a digest
    was rolled back from. The CLI exits 3."""


class LeaseHeldError(BlockedError):
    """Another deployment holds the environment's lease."""

    def __init__(self, environment: str, holder: str, expires_in: float) -> None:
        self.environment = environment
        self.holder = holder
        super().__init__(
            f"environment {environment!r} is locked by deployment {holder} "
            f"(lease expires in {max(expires_in, 0):.0f}s unless renewed); "
            "use --wait to queue behind it"
        )


class StageError(ShipwayError):
    """A stage ran and its gate failed. Not retried."""


class AgentError(ShipwayError):
    """The local agent could not be started, reached or stopped."""
