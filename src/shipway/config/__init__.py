"""The ConfigurationManager: layered configuration, `${...}` interpolation, JSON Schema
validation, the plain-text secret lint, secret backends, and immutable versions.

For the runtime: `resolve_for_release(ctx)` gives the values of `${config.KEY}` (secrets
stay references), `release_config_version(ctx)` the version a release runs with, and
`reveal_environment(env, source)` the environment of a process about to start, with its
`${secret:NAME}` references replaced by their values; `release_files(ctx, service)` the
template files of a service and `render_files(...)` renders them as its process starts.
"""

from shipway.config.delivery import (
    release_config_version,
    release_files,
    render_files,
    resolve_for_release,
    reveal_environment,
    reveal_process,
    secret_source,
)
from shipway.config.errors import ConfigError, SecretError, SecretNotFoundError
from shipway.config.manager import ConfigurationManager, Resolution
from shipway.config.versions import ConfigVersion

__all__ = [
    "ConfigError",
    "ConfigVersion",
    "ConfigurationManager",
    "Resolution",
    "SecretError",
    "SecretNotFoundError",
    "release_config_version",
    "release_files",
    "render_files",
    "resolve_for_release",
    "reveal_environment",
    "reveal_process",
    "secret_source",
]
