"""Fixtures for the switching proxy's tests: a started proxy and two named backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shipway.runtime.proxy import SwitchingProxy

from .proxy_support import NameServer


@pytest.fixture
def backends() -> Iterator[tuple[NameServer, NameServer]]:
    a, b = NameServer("a"), NameServer("b")
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def proxy() -> Iterator[SwitchingProxy]:
    p = SwitchingProxy("127.0.0.1", 0, name="test")
    p.start()
    yield p
    p.stop()
