"""Filling in `${...}` in what the tests send: variables saved by earlier checks, the
environment's `variables`, `${secret:NAME}` and `${resources.NAME.ATTRIBUTE}`.

A secret's value is handed to the redactor the moment it is read, so it can be masked in
everything the run writes. In a JSON body, a string that is exactly one reference keeps
the type of the value (`{"id": "${note_id}"}` sends a number when the id was one).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from shipway.errors import ShipwayError
from shipway.tester.redaction import Redactor
from shipway.tester.secrets import SecretSource, SecretUnavailableError, UnavailableSecretSource

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_WHOLE = re.compile(r"\$\{([^}]*)\}")


class UnresolvedReferenceError(ShipwayError):
    """A reference with no value here."""


@dataclass(frozen=True)
class References:
    """Values references resolve to in one place of one run."""

    variables: Mapping[str, Any] = field(default_factory=dict)
    secrets: SecretSource = field(default_factory=lambda: UnavailableSecretSource("local"))
    redactor: Redactor = field(default_factory=Redactor)
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def with_variables(self, extra: Mapping[str, Any]) -> References:
        return replace(self, variables={**self.variables, **extra})

    def lookup(self, name: str) -> Any:
        if name.startswith("secret:"):
            try:
                secret = self.secrets.get(name.removeprefix("secret:")).get_secret_value()
            except SecretUnavailableError as exc:
                raise UnresolvedReferenceError(str(exc)) from exc
            self.redactor.add(secret)
            return secret
        if name.startswith("resources."):
            return self._resource(name)
        if name in self.variables:
            return self.variables[name]
        known = ", ".join(sorted(self.variables)) or "none"
        raise UnresolvedReferenceError(f"unknown reference ${{{name}}} (variables here: {known})")

    def _resource(self, name: str) -> Any:
        _, resource, attribute = [*name.split(".", 2), "", ""][:3]
        found = self.resources.get(resource)
        if found is None or attribute not in found:
            raise UnresolvedReferenceError(
                f"${{{name}}} has no value: resource {resource!r} was not provisioned by "
                f"this deployment (or has no attribute {attribute!r})"
            )
        value = found[attribute]
        # NOTE: a generated credential is an output's `${secret:resources/NAME/KEY}`
        # reference (`url: postgresql://app:${secret:...}@host/db`): fill it in too.
        return self.text(value) if isinstance(value, str) else value

    def text(self, value: str) -> str:
        """`value` with every reference replaced by its text; `$${` is a literal `${`."""

        def replace_one(match: re.Match[str]) -> str:
            name = match.group(1)
            return "${" if name is None else as_text(self.lookup(name))

        return _REFERENCE.sub(replace_one, value)

    def value(self, value: Any) -> Any:
        """A JSON value with references filled in, recursively."""
        if isinstance(value, str):
            whole = _WHOLE.fullmatch(value)
            if whole is not None:
                return self.lookup(whole.group(1))
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        return value


def as_text(value: Any) -> str:
    """How a value appears inside a string: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))
