"""Scan settings from the manifest's `security:` section (or from defaults and options when
there is no manifest), with the vulnerability database resolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shipway.errors import InputError
from shipway.manifest import LoadedManifest, resolve_environment
from shipway.manifest.nodes import locate, position
from shipway.manifest.sections import IgnoreRule, SecuritySpec
from shipway.manifest.source import compose_manifest
from shipway.scanner.findings import Severity

ONLINE = "osv"


@dataclass(frozen=True)
class ScanSettings:
    """Which scanners run, what blocks, what is accepted, where advisories come from."""

    scanners: tuple[str, ...] = ("dependencies", "secrets", "misconfiguration", "code")
    fail_on: Severity = Severity.HIGH
    ignores: tuple[IgnoreRule, ...] = ()
    compliance: tuple[str, ...] = ()
    #: `osv`, an http(s) URL of an OSV-compatible API, or an absolute path to an export.
    vulnerability_db: str = ONLINE
    #: Where `vulnerability_db` was written (`file:line:col`), for error messages.
    vulnerability_db_origin: str = field(default="", compare=False)
    #: An absolute path to the baseline file (`security.baseline`), or None.
    baseline: str | None = None

    @classmethod
    def from_spec(cls, spec: SecuritySpec, base_dir: Path, origin: str = "") -> ScanSettings:
        return cls(
            scanners=tuple(dict.fromkeys(spec.scanners)),
            fail_on=Severity.parse(spec.fail_on),
            ignores=tuple(spec.ignore),
            compliance=tuple(spec.compliance),
            vulnerability_db=resolve_database(spec.vulnerability_db, base_dir, origin),
            vulnerability_db_origin=origin,
            baseline=str((base_dir / spec.baseline).resolve()) if spec.baseline else None,
        )

    @classmethod
    def from_manifest(cls, loaded: LoadedManifest, environment: str | None) -> ScanSettings:
        """The settings of `environment` (with inheritance), or the top-level section."""
        chain: list[str] = []
        spec = loaded.manifest.security
        if environment is not None:
            resolved = resolve_environment(loaded, environment)
            spec, chain = resolved.security, resolved.chain
        origin = _origin(loaded, chain, "vulnerability_db")
        return cls.from_spec(spec, loaded.path.parent, origin)


def resolve_database(value: str, base_dir: Path, origin: str = "") -> str:
    """`osv` and URLs as they are; a path made absolute. A relative path must stay inside
    the manifest's folder (DESIGN.md section 6); an absolute one is the user's choice."""
    if value == ONLINE or value.startswith(("http://", "https://")):
        return value.rstrip("/")
    path = Path(value).expanduser()
    if path.is_absolute():
        return str(path)
    root = base_dir.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        where = f"{origin}: " if origin else ""
        raise InputError(f"{where}vulnerability_db {value!r} leaves the manifest's folder")
    return str(target)


def _origin(loaded: LoadedManifest, chain: list[str], key: str) -> str:
    """`file:line:col` of `security.<key>` where the environment (or the nearest one it
    extends, or the top level) sets it; else just the file."""
    try:
        root = compose_manifest(loaded.source_text, str(loaded.path))
    except InputError:
        return str(loaded.path)
    if root is None:
        return str(loaded.path)
    paths: list[tuple[str, ...]] = [("environments", name, "security", key) for name in chain]
    paths.append(("security", key))
    for keys in paths:
        found = locate(root, keys)
        if found.matched == keys:
            line, column = position(found.node)
            return f"{loaded.path}:{line}:{column}"
    return str(loaded.path)
