"""A pytest plugin loaded into the pytest-playwright runs of `tests.e2e[*].pytest`: the
browser is Debian's Chromium, headless, with shipway's flags (DESIGN.md section 3)."""

from __future__ import annotations

import os
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium_path() -> str:
    return os.environ.get("SHIPWAY_CHROMIUM", CHROMIUM)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch options, pointed at the system Chromium."""
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path(),
        "headless": True,
        "args": [*browser_type_launch_args.get("args", []), *FLAGS],
    }
