"""`config.git`: each configuration change is also a commit in a git repository.

The repository (created on first use) holds `ENVIRONMENT/config.json` (the version's
values, secrets as references) and `ENVIRONMENT/VERSION`; the commit message names the
version, the action and the deployment. Applying a version the environment already has
changes no file and makes no commit. Runs the `git` command, with a timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from shipway.config.errors import ConfigError
from shipway.config.versions import ConfigVersion, short
from shipway.errors import ShipwayError

TIMEOUT = 30.0


class GitError(ShipwayError):
    """The configuration repository could not be written."""


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "shipway",
        "GIT_AUTHOR_EMAIL": "shipway@localhost",
        "GIT_COMMITTER_NAME": "shipway",
        "GIT_COMMITTER_EMAIL": "shipway@localhost",
        "GIT_TERMINAL_PROMPT": "0",
    }
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise GitError(f"git {args[0]} failed in {repo}: {type(e).__name__}") from e
    if done.returncode != 0:
        reason = " ".join((done.stderr or done.stdout).split())[:200]
        raise GitError(f"git {args[0]} failed in {repo}: {reason}")
    return done.stdout


def commit_version(
    repo: Path,
    *,
    project: str,
    environment: str,
    version: ConfigVersion | None,
    action: str,
    deployment_id: str | None,
    user: str,
) -> str | None:
    """Commit `version` as `environment`'s configuration; the new commit's id, or None
    when the repository already had exactly this."""
    if environment in {"", ".", ".."} or "/" in environment:
        raise ConfigError(f"environment {environment!r} cannot be a folder name", path=str(repo))
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / ".git").exists():
        _git(repo, "init", "--quiet")
    folder = repo / environment
    folder.mkdir(exist_ok=True)
    config_file = folder / "config.json"
    version_file = folder / "VERSION"
    if version is None:
        config_file.unlink(missing_ok=True)
        version_file.unlink(missing_ok=True)
    else:
        config_file.write_text(json.dumps(version.values, indent=2, sort_keys=True) + "\n")
        version_file.write_text(version.id + "\n")
    _git(repo, "add", "--all", "--", environment)
    if not _git(repo, "status", "--porcelain", "--", environment).strip():
        return None
    by = f"deployment {deployment_id}" if deployment_id else user
    title = f"{project}/{environment}: config {short(version.id if version else None)} ({action})"
    body = f"Version: {version.id if version else 'none'}\nBy: {by}\n"
    _git(repo, "commit", "--quiet", "-m", title, "-m", body)
    return _git(repo, "rev-parse", "HEAD").strip()
