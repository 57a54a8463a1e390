"""Test kinds by name. Adding a kind is one module and one line in BUILTIN_KINDS."""

from __future__ import annotations

import importlib

from shipway.errors import InputError
from shipway.tester.kinds.interface import TestKind

#: name -> "module:Class", imported only when that kind runs (browsers and property-based
#: testing are heavy imports).
BUILTIN_KINDS: dict[str, str] = {
    "services": "shipway.tester.kinds.services:ServicesKind",
    "api": "shipway.tester.kinds.api:ApiKind",
    "contract": "shipway.tester.kinds.contract:ContractKind",
    "e2e": "shipway.tester.kinds.e2e:E2EKind",
    "load": "shipway.tester.kinds.load:LoadKind",
}
#: The order kinds run in: cheap checks first, the load test last, alone.
ORDER = tuple(BUILTIN_KINDS)


def kind_names() -> list[str]:
    return list(ORDER)


def load_kind(name: str) -> TestKind:
    """An instance of the kind called `name`."""
    if name not in BUILTIN_KINDS:
        known = ", ".join(ORDER)
        raise InputError(f"unknown test kind {name!r} (one of: {known})")
    module_name, _, class_name = BUILTIN_KINDS[name].partition(":")
    kind_class = getattr(importlib.import_module(module_name), class_name)
    kind: TestKind = kind_class()
    return kind
