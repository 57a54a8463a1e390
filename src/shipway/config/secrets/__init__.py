"""Secret backends behind one interface: `local` (encrypted vault), `env`, `file`, `aws`,
`vault`. See `interface.py` for the seam and `registry.py` for the names."""

from shipway.config.secrets.interface import BackendScope, SecretBackend, check_name
from shipway.config.secrets.registry import open_backend, register

__all__ = ["BackendScope", "SecretBackend", "check_name", "open_backend", "register"]
