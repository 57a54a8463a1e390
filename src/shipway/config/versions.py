"""Configuration versions: content, content address, and differences between two.

A version's content is the resolved configuration with every secret kept as its
`${secret:NAME}` reference, plus the list of keys that hold such references, plus the
sources of the templates of `config.files` (when there are any). Its id is
`sha256:` of the canonical JSON of that content, so the same configuration always gets the
same id, whichever deployment or command produced it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shipway.config.interpolation import Resolved
from shipway.config.origins import Path, dotted
from shipway.config.templates import TemplateFile
from shipway.models import ConfigurationDescriptor

FORMAT = 1


@dataclass(frozen=True)
class ConfigVersion:
    """An immutable configuration version."""

    id: str
    values: dict[str, Any]
    #: Keys whose value is a template holding `${secret:...}` references, and the names.
    secrets: dict[Path, tuple[str, ...]]
    #: Files rendered for services at process start (`config.files`), sources included.
    files: tuple[TemplateFile, ...] = ()

    @classmethod
    def of(cls, resolved: Resolved, files: tuple[TemplateFile, ...] = ()) -> ConfigVersion:
        if any(t.deferred for t in resolved.templates.values()):
            raise ValueError("a version cannot hold unresolved resource references")
        secrets = {path: t.secrets for path, t in resolved.templates.items()}
        content = _content(resolved.values, secrets, files)
        return cls(digest(content), resolved.values, secrets, files)

    @classmethod
    def from_content(cls, version_id: str, content: dict[str, Any]) -> ConfigVersion:
        secrets = {
            tuple(entry["path"]): tuple(entry["names"]) for entry in content.get("secrets", [])
        }
        files = tuple(TemplateFile.from_dict(entry) for entry in content.get("files", []))
        return cls(version_id, dict(content.get("values", {})), secrets, files)

    @property
    def content(self) -> dict[str, Any]:
        return _content(self.values, self.secrets, self.files)

    def files_of(self, service: str) -> list[TemplateFile]:
        return [file for file in self.files if file.service == service]

    @property
    def short(self) -> str:
        return short(self.id)

    @property
    def secret_names(self) -> list[str]:
        return sorted({name for names in self.secrets.values() for name in names})

    def flat(self) -> dict[str, Any]:
        """Dotted key -> leaf value (empty mappings and lists are leaves)."""
        return {dotted(path): value for path, value in leaves(self.values)}

    def descriptor(
        self, project: str, environment: str, backend: str, last_modified: datetime | None
    ) -> ConfigurationDescriptor:
        """The shared model other components read (DESIGN.md section 2)."""
        return ConfigurationDescriptor(
            config_type="application",
            config_id=f"{project}/{environment}",
            parameters=self.values,
            security_context={"secret_backend": backend, "secrets": self.secret_names},
            version=self.id,
            last_modified=last_modified,
        )


def _content(
    values: dict[str, Any],
    secrets: dict[Path, tuple[str, ...]],
    files: tuple[TemplateFile, ...] = (),
) -> dict[str, Any]:
    entries = [
        {"path": list(path), "names": list(names)}
        for path, names in sorted(secrets.items(), key=lambda item: json.dumps(item[0]))
    ]
    content: dict[str, Any] = {"format": FORMAT, "values": values, "secrets": entries}
    if files:
        # NOTE: only when there are files, so versions made before `config.files` keep
        # their ids.
        content["files"] = [file.to_dict() for file in files]
    return content


def canonical(content: Any) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(content: dict[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def short(version_id: str | None) -> str:
    """`3f2a9b1c0d4e`: the first 12 hex digits, as the CLI shows ids."""
    if not version_id:
        return "-"
    return version_id.removeprefix("sha256:")[:12]


def leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list) and value:
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path, value


@dataclass(frozen=True)
class Change:
    """One key that differs between two versions."""

    key: str
    kind: str  # added | removed | changed
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "change": self.kind, "old": self.old, "new": self.new}


def diff(old: ConfigVersion | None, new: ConfigVersion | None) -> list[Change]:
    """The keys that differ, sorted. Secret-bearing values compare as their references;
    template files as `file SERVICE:PATH`, shown by template name, mode and digest."""
    before = {**(old.flat() if old else {}), **_file_keys(old)}
    after = {**(new.flat() if new else {}), **_file_keys(new)}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            changes.append(Change(key, "removed", old=before[key]))
        elif key not in before:
            changes.append(Change(key, "added", new=after[key]))
        elif canonical(before[key]) != canonical(after[key]):
            changes.append(Change(key, "changed", before[key], after[key]))
    return changes


def _file_keys(version: ConfigVersion | None) -> dict[str, str]:
    if version is None:
        return {}
    return {
        f"file {f.service}:{f.path}": (
            f"{f.template} (mode {f.mode}, "
            f"sha256:{hashlib.sha256(f.source.encode('utf-8')).hexdigest()[:12]})"
        )
        for f in version.files
    }
