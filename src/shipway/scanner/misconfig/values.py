"""Reading provider attributes, whose shapes the manifest does not fix: truthiness as YAML
writes it, references, and the kinds of resource a rule applies to."""

from __future__ import annotations

from typing import Any

_TRUE = frozenset({"true", "yes", "on", "1", "enabled"})
_FALSE = frozenset({"false", "no", "off", "0", "none", "disabled", "disable", ""})


def is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str | int) and str(value).lower() in _TRUE)


def is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str | int) and str(value).lower() in _FALSE)


def is_reference(value: Any) -> bool:
    """`${secret:x}`, `${resources.db.url}`: resolved at deploy time, not a literal."""
    return isinstance(value, str) and "${" in value


def kind_of(resource_type: str) -> str:
    """`aws.s3_bucket` -> `s3_bucket`."""
    return resource_type.rpartition(".")[2]


def is_storage(resource_type: str) -> bool:
    kind = kind_of(resource_type)
    words = ("bucket", "container", "blob", "volume", "disk", "database", "db", "snapshot")
    return any(word in kind for word in words) or kind in ("rds", "efs", "ebs", "s3")


def is_bucket(resource_type: str) -> bool:
    kind = kind_of(resource_type)
    return any(word in kind for word in ("bucket", "container", "blob")) or kind == "s3"
