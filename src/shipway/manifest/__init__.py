"""`shipway.yaml`: models, loading with `file:line:col` errors, environment inheritance,
JSON Schema and the generated reference.

Load with `load_manifest(path)`; pick an environment with `resolve_environment(loaded, name)`.
"""

from shipway.manifest.environments import ResolvedEnvironment
from shipway.manifest.fields import (
    Bytes,
    Duration,
    Fraction,
    Percent,
    PerSecond,
    Rate,
    Seconds,
    Size,
)
from shipway.manifest.loader import (
    LoadedManifest,
    load_manifest,
    load_manifest_text,
    manifest_digest,
    resolve_environment,
)
from shipway.manifest.markdown import render_manifest_docs
from shipway.manifest.models import EnvironmentSpec, Manifest
from shipway.manifest.pipeline import PipelineSpec, StagePolicy
from shipway.manifest.schema import manifest_json_schema
from shipway.manifest.starter import STARTER_MANIFEST, starter_manifest

__all__ = [
    "STARTER_MANIFEST",
    "Bytes",
    "Duration",
    "EnvironmentSpec",
    "Fraction",
    "LoadedManifest",
    "Manifest",
    "PerSecond",
    "Percent",
    "PipelineSpec",
    "Rate",
    "ResolvedEnvironment",
    "Seconds",
    "Size",
    "StagePolicy",
    "load_manifest",
    "load_manifest_text",
    "manifest_digest",
    "manifest_json_schema",
    "render_manifest_docs",
    "resolve_environment",
    "starter_manifest",
]
