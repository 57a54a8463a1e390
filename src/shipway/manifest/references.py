"""The `${...}` reference syntax: which strings are well-formed.

The manifest keeps references as plain strings; each is resolved later by the component that
owns its namespace (`secret:` by the secret backends, `resources.` by the provisioner,
`config.` and plain variables by the configuration manager). This module only decides what
a well-formed reference looks like, so that a typo such as an unterminated `${` fails at load
time with a position instead of deep inside a deployment.

Grammar: `${NAME}` where NAME starts with a letter or `_` and continues with letters, digits
and `_ . : / -`. `$${` is an escaped, literal `${`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]*")
_NAME_CHARS = "letters, digits, '_', '.', ':', '/' and '-'"


@dataclass(frozen=True)
class ReferenceProblem:
    """What is wrong with a string's references, and at which character offset."""

    offset: int
    reason: str


def find_reference_problem(text: str) -> ReferenceProblem | None:
    """The first malformed `${...}` in `text`, or None when every reference is well-formed."""
    start = text.find("${")
    while start != -1:
        if start > 0 and text[start - 1] == "$":
            # NOTE: `$${` is the escape for a literal `${` (shell snippets in `run:`).
            start = text.find("${", start + 2)
            continue
        end = text.find("}", start + 2)
        if end == -1:
            return ReferenceProblem(start, "unterminated reference '${' (missing '}')")
        name = text[start + 2 : end]
        if not name:
            return ReferenceProblem(start, "empty reference '${}'")
        if not _NAME.fullmatch(name):
            shown = name if len(name) <= 40 else name[:37] + "..."
            return ReferenceProblem(
                start,
                f"invalid reference '${{{shown}}}': a name starts with a letter or '_' "
                f"and uses {_NAME_CHARS} (write '$${{' for a literal '${{')",
            )
        start = text.find("${", end + 1)
    return None


def has_reference(text: str) -> bool:
    """True when `text` contains a reference, so its final value is only known later."""
    return "${" in text


_RESOURCE_REFERENCE = re.compile(r"\$\$\{|\$\{resources\.([^}]*)\}")


def resource_references(
    value: object, path: tuple[str | int, ...] = ()
) -> list[tuple[tuple[str | int, ...], str]]:
    """`(key path, "NAME.ATTR")` for every `${resources.NAME.ATTR}` in the strings nested in
    `value` (mappings and lists are walked; `$${` escapes are skipped)."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    stack: list[tuple[tuple[str | int, ...], object]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            found += [(where, m.group(1)) for m in _RESOURCE_REFERENCE.finditer(item) if m.group(1)]
        elif isinstance(item, dict):
            stack += [((*where, str(k)), v) for k, v in reversed(list(item.items()))]
        elif isinstance(item, list):
            stack += [((*where, i), v) for i, v in reversed(list(enumerate(item)))]
    return found
