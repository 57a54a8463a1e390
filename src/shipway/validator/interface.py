"""The `Check` plugin seam: one requirement, read from one host, judged.

A check reads the world through a `Host` (this machine, or one reached over SSH) and returns
an `Observation`: what it saw, whether that meets the requirement, and what to do when it
does not. `Check.run` wraps that in the timeout, the `required` rule and the timing, so a
check module only reads and compares.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shipway.errors import ShipwayError
from shipway.validator.hosts import Host, error_text
from shipway.validator.units import seconds_text

Status = Literal["pass", "warn", "fail"]

#: Timeout of a check whose requirement does not set one.
DEFAULT_TIMEOUT = 10.0


class CheckError(ShipwayError):
    """A check could not read what it needed (a command failed, a host did not answer).

    The engine reports it as the check's failure; `remedy` says what to do about it.
    """

    def __init__(self, message: str, remedy: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy


@dataclass(frozen=True)
class Observation:
    """What one check saw on one host. `status` is the verdict before `required` applies."""

    observed: str
    status: Status = "pass"
    remedy: str = ""
    #: JSON-ready facts for later stages (versions, free ports, capacity).
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """One row of the report: a check on a host, with the verdict that counts."""

    check: str
    family: str
    expected: str
    observed: str
    status: Status
    remedy: str
    host: str
    required: bool = True
    seconds: float = 0.0
    facts: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "family": self.family,
            "expected": self.expected,
            "observed": self.observed,
            "status": self.status,
            "remedy": self.remedy,
            "host": self.host,
            "required": self.required,
            "seconds": round(self.seconds, 4),
            "facts": dict(self.facts),
        }


class Check(ABC):
    """One requirement. Subclasses set `family`, build `name` and `expected`, and
    implement `observe`."""

    #: hardware, software, network, security or capacity (set by each subclass).
    family: str

    def __init__(
        self, name: str, expected: str, *, required: bool = True, timeout: float | None = None
    ) -> None:
        self.name = name
        self.expected = expected
        self.required = required
        self.timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)

    @abstractmethod
    async def observe(self, host: Host) -> Observation:
        """Read what the requirement is about on `host` and judge it. Raise `CheckError`
        when it cannot be read."""

    async def run(self, host: Host) -> CheckResult:
        """`observe` under this check's timeout; never raises (but for cancellation)."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                seen = await self.observe(host)
        except TimeoutError:
            seen = Observation(
                f"no answer within {seconds_text(self.timeout)}",
                "fail",
                "check that it is reachable from the host, or raise the timeout",
            )
        except CheckError as e:
            seen = Observation(e.message, "fail", e.remedy)
        except OSError as e:  # a socket or file error the check did not translate itself
            seen = Observation(error_text(e), "fail")
        status = seen.status
        if status == "fail" and not self.required:
            status = "warn"  # `required: false`
        return CheckResult(
            check=self.name,
            family=self.family,
            expected=self.expected,
            observed=seen.observed,
            status=status,
            remedy=seen.remedy if status != "pass" else "",
            host=host.label,
            required=self.required,
            seconds=time.perf_counter() - started,
            facts=seen.facts,
        )
