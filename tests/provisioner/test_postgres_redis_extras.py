"""Without the optional client library, the providers say which extra to install."""

from __future__ import annotations

import importlib
import sys

import pytest

from shipway.provisioner.providers.interface import ProviderError


@pytest.mark.parametrize(
    ("library", "module", "extra"),
    [
        ("psycopg", "shipway.provisioner.providers.postgres", "shipway[postgres]"),
        ("psycopg", "shipway.provisioner.providers.postgres_role", "shipway[postgres]"),
        ("redis", "shipway.provisioner.providers.redis", "shipway[redis]"),
    ],
)
def test_a_missing_client_library_is_a_provider_error(
    monkeypatch: pytest.MonkeyPatch, library: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, library, None)  # `import LIBRARY` raises ImportError
    for name in [n for n in sys.modules if n.startswith("shipway.provisioner.providers.")]:
        if name.rsplit(".", 1)[1].startswith(("postgres", "redis")):
            monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ProviderError, match=f"pip install '{extra}'".replace("[", r"\[")):
        importlib.import_module(module)
