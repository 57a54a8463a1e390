"""EnvironmentValidator: preflight checks of hardware, software, network, security and
capacity, run concurrently on this machine or on each SSH host of an environment.

`validate(loaded, environment, home=...)` returns a `ValidationReport`; checks are plugins
(`interface.Check`) registered per manifest model in `registry.py`.
"""

from shipway.validator.engine import ValidationReport, hosts_for, run_checks, validate
from shipway.validator.hosts import CommandResult, Host, LocalHost
from shipway.validator.interface import Check, CheckError, CheckResult, Observation
from shipway.validator.registry import CheckScope, registry
from shipway.validator.ssh import SshHost

__all__ = [
    "Check",
    "CheckError",
    "CheckResult",
    "CheckScope",
    "CommandResult",
    "Host",
    "LocalHost",
    "Observation",
    "SshHost",
    "ValidationReport",
    "hosts_for",
    "registry",
    "run_checks",
    "validate",
]
