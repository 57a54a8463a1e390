"""The provisioner's errors: an apply that failed, a plan that no longer fits the world."""

from __future__ import annotations

from shipway.errors import ShipwayError


class ProvisionError(ShipwayError):
    """Provisioning ran and failed (a provider error, `prevent_destroy`). The CLI exits 1."""


class StalePlanError(ProvisionError):
    """A saved plan was made from a state or a world that has changed since."""
