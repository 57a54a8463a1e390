"""Building what a test run needs from a manifest environment: the references (the
environment's variables, secrets, provisioned resources), the redactor, the artifacts."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipway.manifest import LoadedManifest, ResolvedEnvironment
from shipway.tester.artifacts import ArtifactStore
from shipway.tester.kinds.interface import Observer, TestTarget
from shipway.tester.redaction import Redactor
from shipway.tester.references import References
from shipway.tester.secrets import secret_source


def build_target(
    loaded: LoadedManifest,
    environment: ResolvedEnvironment,
    *,
    base_url: str | None,
    artifacts_dir: Path,
    cache_dir: Path,
    resources: Mapping[str, Mapping[str, Any]] | None = None,
    observer: Observer | None = None,
) -> TestTarget:
    """The target of one run of `environment`'s tests against `base_url`."""
    redactor = Redactor()
    variables: dict[str, Any] = {str(k): v for k, v in environment.variables.items()}
    variables.update(project=loaded.manifest.project, environment=environment.name)
    references = References(
        variables=variables,
        secrets=secret_source(loaded, environment),
        redactor=redactor,
        resources=dict(resources or {}),
    )
    return TestTarget(
        base_url=base_url,
        base_dir=loaded.path.parent,
        artifacts=ArtifactStore(artifacts_dir, redactor),
        references=references,
        cache_dir=cache_dir,
        observer=observer or Observer(),
        cancel=threading.Event(),
    )
