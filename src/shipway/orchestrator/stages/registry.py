"""The stage registry: stage names to plugin classes.

Built-in components register their stages here with one line each. A manifest's
`pipeline.plugins` names more modules (importable names or `.py` files under the
manifest's folder) that register their own stages when imported.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import threading
from pathlib import Path

from shipway.errors import InputError
from shipway.orchestrator.stages.interface import Stage

#: The modules of shipway's own components that register stages, one line each. They are
#: imported the first time the registry is asked for a stage (`get`, `names`).
BUILTIN_MODULES: tuple[str, ...] = (
    "shipway.runtime.stage",
    "shipway.validator.stage",
    "shipway.config.stage",
    "shipway.tester.stage",
    "shipway.scanner.stage",
    "shipway.provisioner.stage",
    "shipway.monitor.analysis.stage",
)


class StageRegistry:
    """Stage classes by name. Thread-safe: the agent loads plugins while stages run."""

    def __init__(self) -> None:
        self._stages: dict[str, type[Stage]] = {}
        self._loaded: set[str] = set()
        self._lock = threading.RLock()
        self._builtins_loaded = False

    def _load_builtins(self) -> None:
        with self._lock:
            if self._builtins_loaded:
                return
            self._builtins_loaded = True
            for module in BUILTIN_MODULES:
                importlib.import_module(module)

    def register(self, stage: type[Stage]) -> type[Stage]:
        """Register a stage class under its `name`; usable as a class decorator. A plugin
        may replace a built-in stage, whichever is imported first."""
        with self._lock:
            builtin = stage.__module__ in BUILTIN_MODULES
            if not (builtin and stage.name in self._stages):
                self._stages[stage.name] = stage
        return stage

    def get(self, name: str) -> type[Stage] | None:
        self._load_builtins()
        with self._lock:
            return self._stages.get(name)

    def names(self) -> list[str]:
        self._load_builtins()
        with self._lock:
            return sorted(self._stages)

    def plugin_names(self) -> list[str]:
        """The names registered so far, without importing the built-in components (the
        CLI checks a pipeline's stage names with these and `BUILTIN_STAGES`: importing
        every component would cost each command most of a second)."""
        with self._lock:
            return sorted(self._stages)

    def load_plugins(self, specs: list[str], base_dir: Path) -> None:
        """Import each plugin once. A spec ending in `.py` is a file under `base_dir`."""
        for spec in specs:
            key = self._plugin_key(spec, base_dir)
            with self._lock:
                if key in self._loaded:
                    continue
                if spec.endswith(".py"):
                    self._import_file(spec, base_dir, key)
                else:
                    self._import_module(spec)
                self._loaded.add(key)

    @staticmethod
    def _plugin_key(spec: str, base_dir: Path) -> str:
        """A file plugin is keyed by path and content, so an edited file is loaded again
        by a long-running agent (its stages are registered anew)."""
        if not spec.endswith(".py"):
            return spec
        path = (base_dir / spec).resolve()
        try:
            content = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except OSError:
            content = "missing"
        return f"{path}#{content}"

    @staticmethod
    def _import_module(name: str) -> None:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise InputError(f"pipeline plugin {name!r} cannot be imported: {exc}") from exc

    @staticmethod
    def _import_file(spec: str, base_dir: Path, key: str) -> None:
        root = base_dir.resolve()
        path = Path(key.rpartition("#")[0])
        if not path.is_relative_to(root):
            raise InputError(f"pipeline plugin {spec!r} is outside the manifest's folder {root}")
        if not path.is_file():
            raise InputError(f"pipeline plugin {spec!r} not found at {path}")
        module_name = "shipway_plugin_" + hashlib.sha256(key.encode()).hexdigest()[:12]
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:
            raise InputError(f"pipeline plugin {spec!r} is not a Python module")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise InputError(f"pipeline plugin {spec!r} failed to load: {exc}") from exc


registry = StageRegistry()
