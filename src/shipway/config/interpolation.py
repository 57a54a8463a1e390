"""Resolving the `${...}` references of a merged configuration.

Namespaces: `${environment}`, `${project}` and the environment's `variables`;
`${config.a.b}` (another key of the same configuration, typed when it is the whole
value); `${env:VAR}` or `${env:VAR:-default}` (the resolving process's environment);
`${resources.NAME.ATTR}` (what the provision stage reported); `${secret:NAME}`.

Secrets are never resolved here: a value that holds `${secret:...}` stays a `Template`
(literal text that would read as a reference escaped as `$${`), and only the process
that starts a service turns it into text (see `delivery.py`). Outside a deployment,
resource references stay templates too. A reference cycle is an error that names every
key of the loop with its position.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipway.config.errors import ConfigError
from shipway.config.layers import Stack
from shipway.config.origins import Path, dotted

REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
SECRET_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,199}")


@dataclass(frozen=True)
class Template:
    """Text holding references resolved later (`${secret:NAME}`, deferred resources)."""

    text: str
    secrets: tuple[str, ...] = ()
    deferred: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scope:
    """What references outside `config.` resolve against."""

    environment: str
    project: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    #: Resource attributes by resource name; None when not known (outside a deployment).
    resources: Mapping[str, Mapping[str, Any]] | None = None
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    """A resolved configuration: plain values, with templates where references remain."""

    values: dict[str, Any]
    templates: dict[Path, Template]

    @property
    def secret_names(self) -> list[str]:
        return sorted({name for t in self.templates.values() for name in t.secrets})


def escape(text: str) -> str:
    """Literal text as part of a template: only what a template resolves later is special
    (`${secret:` and `${resources.`), so only those are escaped, as `$${`."""
    return text.replace("${secret:", "$${secret:").replace("${resources.", "$${resources.")


def resolve(stack: Stack, scope: Scope) -> Resolved:
    """Resolve every reference of `stack.merged`; raises ConfigError at the value's origin."""
    resolver = _Resolver(stack, scope)
    tree = resolver.node((), stack.merged)
    templates: dict[Path, Template] = {}
    if not resolver.templated:
        return Resolved(tree, templates)
    values = _plain(tree, (), templates)
    return Resolved(values, templates)


def _plain(value: Any, path: Path, templates: dict[Path, Template]) -> Any:
    if isinstance(value, Template):
        templates[path] = value
        return value.text
    if isinstance(value, dict):
        return {k: _plain(v, (*path, k), templates) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, (*path, i), templates) for i, v in enumerate(value)]
    return value


class _Resolver:
    def __init__(self, stack: Stack, scope: Scope) -> None:
        self.stack = stack
        self.scope = scope
        self.done: dict[Path, Any] = {}
        self.active: list[Path] = []
        self.active_set: set[Path] = set()
        #: The keys whose `${config...}` references led to the one being resolved.
        self.hops: list[Path] = []
        #: Whether any value became a Template (else the tree is plain already).
        self.templated = False

    def node(self, path: Path, value: Any) -> Any:
        if path in self.done:
            return self.done[path]
        if isinstance(value, dict):
            self._enter(path)
            result: Any = {}
            for key, item in value.items():
                # NOTE: most leaves hold no reference; skipping the call for them is what
                # keeps large configurations fast (issue 6's benchmark).
                if (isinstance(item, str) and "${" not in item) or not isinstance(
                    item, dict | list | str
                ):
                    result[key] = item
                else:
                    result[key] = self.node((*path, key), item)
        elif isinstance(value, list):
            self._enter(path)
            result = [self.node((*path, i), v) for i, v in enumerate(value)]
        elif isinstance(value, str) and "${" in value:
            self._enter(path)
            result = self.text(path, value)
            if isinstance(result, Template):
                self.templated = True
        else:
            return value
        self._leave(path)
        self.done[path] = result
        return result

    def _enter(self, path: Path) -> None:
        if path:
            self.active.append(path)
            self.active_set.add(path)

    def _leave(self, path: Path) -> None:
        if path:
            self.active.pop()
            self.active_set.discard(path)

    # --- strings --------------------------------------------------------------------

    def text(self, path: Path, text: str) -> Any:
        matches = list(REFERENCE.finditer(text))
        if len(matches) == 1 and matches[0].group(1) and matches[0].span() == (0, len(text)):
            return self.reference(path, matches[0].group(1))
        plain: list[str] = []
        template: list[str] = []
        literal: list[str] = []
        secrets: list[str] = []
        deferred: list[str] = []
        templated = False
        position = 0

        def flush() -> None:
            run = "".join(literal)
            literal.clear()
            plain.append(run)
            template.append(escape(run))

        for match in matches:
            literal.append(text[position : match.start()])
            position = match.end()
            name = match.group(1)
            if name is None:
                literal.append("${")
                continue
            value = self.reference(path, name)
            if isinstance(value, Template):
                templated = True
                flush()
                template.append(value.text)
                secrets.extend(value.secrets)
                deferred.extend(value.deferred)
            else:
                literal.append(self._as_text(path, name, value))
        literal.append(text[position:])
        flush()
        if templated:
            joined = "".join(template)
            return Template(joined, tuple(dict.fromkeys(secrets)), tuple(dict.fromkeys(deferred)))
        return "".join(plain)

    def _as_text(self, path: Path, name: str, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return json.dumps(value)
        kind = "a mapping" if isinstance(value, dict) else "a list"
        raise self._error(
            path, f"${{{name}}} is {kind}: it can only be the whole value, not part of a text"
        )

    # --- references -----------------------------------------------------------------

    def reference(self, path: Path, name: str) -> Any:
        if name.startswith("config."):
            return self._config(path, name)
        if name.startswith("secret:"):
            secret = name[len("secret:") :]
            if not SECRET_NAME.fullmatch(secret):
                raise self._error(path, f"invalid secret name in ${{{name}}}")
            self.templated = True
            return Template(f"${{{name}}}", secrets=(secret,))
        if name.startswith("env:"):
            return self._env(path, name)
        if name.startswith("resources."):
            return self._resource(path, name)
        return self._variable(path, name)

    def _config(self, path: Path, name: str) -> Any:
        target = self._target_path(path, name)
        if target in self.active_set:
            raise self._cycle(target)
        try:
            value = self.stack.value(target)
        except KeyError:
            raise self._missing(path, name, target) from None
        self.hops.append(path)
        try:
            return self.node(target, value)
        finally:
            self.hops.pop()

    def _target_path(self, path: Path, name: str) -> Path:
        parts = name[len("config.") :].split(".")
        target: list[str | int] = []
        node: Any = self.stack.merged
        for part in parts:
            if isinstance(node, list) and part.isdigit():
                target.append(int(part))
                node = node[int(part)] if int(part) < len(node) else None
            else:
                target.append(part)
                node = node.get(part) if isinstance(node, dict) else None
        if not parts or any(p == "" for p in parts):
            raise self._error(path, f"invalid reference ${{{name}}}: write ${{config.a.b}}")
        return tuple(target)

    def _missing(self, path: Path, name: str, target: Path) -> ConfigError:
        parent: Any = self.stack.merged
        known: list[str] = []
        for part in target[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            known = [str(k) for k in parent]
        hint = difflib.get_close_matches(str(target[-1]), known, n=1, cutoff=0.6)
        suggestion = f" (did you mean '{dotted((*target[:-1], hint[0]))}'?)" if hint else ""
        return self._error(
            path, f"missing reference ${{{name}}}: no key '{dotted(target)}'{suggestion}"
        )

    def _cycle(self, target: Path) -> ConfigError:
        start = self.active.index(target)
        loop = [*self.active[start:], target]
        steps = " -> ".join(f"{dotted(p)} ({self.stack.origin(p)})" for p in loop)
        return self.stack.origin(self.active[-1]).error(f"reference cycle: {steps}")

    def _env(self, path: Path, name: str) -> str:
        variable, sep, default = name[len("env:") :].partition(":-")
        if not variable:
            raise self._error(path, f"invalid reference ${{{name}}}: write ${{env:VAR}}")
        value = self.scope.env.get(variable)
        if value is not None:
            return value
        if sep:
            return default
        raise self._error(
            path,
            f"${{{name}}}: environment variable {variable} is not set "
            f"(give a default with ${{env:{variable}:-value}})",
        )

    def _resource(self, path: Path, name: str) -> Any:
        parts = name.split(".")
        if len(parts) != 3 or not all(parts):
            raise self._error(
                path, f"invalid reference ${{{name}}}: write ${{resources.NAME.ATTRIBUTE}}"
            )
        if self.scope.resources is None:
            self.templated = True
            return Template(f"${{{name}}}", deferred=(name,))
        resource = self.scope.resources.get(parts[1])
        if resource is None:
            known = ", ".join(sorted(self.scope.resources)) or "none"
            raise self._error(path, f"${{{name}}}: no resource {parts[1]!r} (provisioned: {known})")
        if parts[2] not in resource:
            known = ", ".join(sorted(resource)) or "none"
            raise self._error(
                path, f"${{{name}}}: resource {parts[1]!r} has no {parts[2]!r} (it has: {known})"
            )
        value = resource[parts[2]]
        secrets = _secret_references(value)
        if secrets:
            # NOTE: a generated credential is an output as `${secret:resources/NAME/KEY}`
            # (provisioner/context.py): it stays a secret reference, like `${secret:NAME}`.
            self.templated = True
            return Template(str(value), secrets=secrets)
        return value

    def _variable(self, path: Path, name: str) -> Any:
        values: dict[str, Any] = {
            "environment": self.scope.environment,
            "project": self.scope.project,
            **self.scope.variables,
        }
        if name in values:
            return values[name]
        known = ", ".join(sorted(values))
        raise self._error(
            path,
            f"unknown reference ${{{name}}} (known here: {known}, config.KEY, env:VAR, "
            "secret:NAME, resources.NAME.ATTRIBUTE)",
        )

    def _error(self, path: Path, reason: str) -> ConfigError:
        through = [p for p in self.hops if p != path]
        if through:
            reason += " (reached through " + " -> ".join(dotted(p) for p in through) + ")"
        return self.stack.origin(path).error(f"{dotted(path)}: {reason}")


def _secret_references(value: Any) -> tuple[str, ...]:
    """The `${secret:NAME}` names in a resource output (empty for other values)."""
    if not isinstance(value, str):
        return ()
    names = [
        m.group(1) for m in REFERENCE.finditer(value) if (m.group(1) or "").startswith("secret:")
    ]
    return tuple(dict.fromkeys(name[len("secret:") :] for name in names))
