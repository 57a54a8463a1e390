"""The `SecretBackend` plugin seam: where `${secret:NAME}` values live.

A backend reads and writes the secrets of one environment of one project. Values cross
this seam only as pydantic `SecretStr`, whose `repr` and `str` are masked, so a value
that ends up in a log line or an error message by accident shows as `**********`.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr

from shipway.config.errors import SecretError, SecretNotFoundError
from shipway.errors import InputError

NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,199}")


def check_name(name: str) -> str:
    """`name` when it is a valid secret name (`db_password`, `github/token`); else InputError."""
    if not NAME_PATTERN.fullmatch(name) or any(p in {"", ".", ".."} for p in name.split("/")):
        raise InputError(
            f"invalid secret name {name[:60]!r}: use letters, digits, '_', '.', '-' and '/' "
            "(not starting with '.' or '/', no empty or '..' parts)"
        )
    return name


@dataclass(frozen=True)
class BackendScope:
    """Whose secrets a backend serves, and the folders it may use."""

    project: str
    environment: str
    base_dir: Path
    home: Path
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: The environment variables the backend may read (keys, tokens, addresses).
    env: Mapping[str, str] = field(default_factory=dict)


class SecretBackend(ABC):
    """Get, set, list and delete the secrets of one environment."""

    name: ClassVar[str]
    #: False for backends that only read (environment variables).
    writable: ClassVar[bool] = True

    def __init__(self, scope: BackendScope) -> None:
        self.scope = scope

    @abstractmethod
    def get(self, name: str) -> SecretStr:
        """The value of `name`; raises SecretNotFoundError when there is none."""

    @abstractmethod
    def names(self) -> list[str]:
        """The names of every secret of the environment, sorted."""

    def set(self, name: str, value: SecretStr) -> None:
        """Create or replace `name`."""
        raise SecretError(f"the {self.name} backend is read-only: {self.read_only_hint()}")

    def delete(self, name: str) -> None:
        """Remove `name`; raises SecretNotFoundError when there is none."""
        raise SecretError(f"the {self.name} backend is read-only: {self.read_only_hint()}")

    def read_only_hint(self) -> str:
        return "change the secret where it is kept"

    def get_many(self, names: Iterable[str]) -> dict[str, SecretStr]:
        """Values of several secrets; backends with a batch call override this."""
        return {name: self.get(name) for name in names}

    def missing(self, names: Iterable[str]) -> list[str]:
        """Which of `names` the backend does not have."""
        out = []
        for name in names:
            try:
                self.get(name)
            except SecretNotFoundError:
                out.append(name)
        return out
