"""Where a project's state lives: the `.shipway/` folder beside the manifest, the state
store URL and the DBOS system database (DESIGN.md section 4)."""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from shipway.errors import InputError

STATE_URL_ENV = "SHIPWAY_STATE_URL"
HOME_ENV = "SHIPWAY_HOME"


@dataclass(frozen=True)
class Workspace:
    """The `.shipway/` home of one project and the databases it uses."""

    home: Path
    state_url: str

    @classmethod
    def for_manifest(cls, manifest_path: Path, state_url: str | None = None) -> Workspace:
        """The workspace of the manifest at `manifest_path` (which need not exist yet)."""
        home_env = os.environ.get(HOME_ENV)
        home = Path(home_env) if home_env else manifest_path.resolve().parent / ".shipway"
        return cls.at(home, state_url)

    @classmethod
    def at(cls, home: Path, state_url: str | None = None) -> Workspace:
        url = state_url or os.environ.get(STATE_URL_ENV) or ""
        if url in ("", "sqlite"):
            url = f"sqlite:///{home.resolve() / 'state.db'}"
        if not url.startswith(("sqlite:///", "postgresql://", "postgres://", "postgresql+")):
            raise InputError(
                f"unsupported state URL {mask_url(url)!r}: use sqlite or postgresql://"
            )
        return cls(home=home.resolve(), state_url=url)

    @property
    def is_postgres(self) -> bool:
        return not self.state_url.startswith("sqlite")

    @property
    def system_database_url(self) -> str:
        """DBOS's system database: a SQLite file beside the state, or the same PostgreSQL
        database (DBOS keeps its tables in its own `dbos` schema)."""
        if not self.is_postgres:
            return f"sqlite:///{self.home / 'dbos.sqlite'}"
        scheme, _, rest = self.state_url.partition("://")
        return "postgresql://" + rest if scheme != "postgresql" else self.state_url

    @property
    def executor_id(self) -> str:
        """Stable across restarts, so a restarted agent recovers its own workflows, and
        distinct per host and home, so no two executors share one id."""
        if not self.is_postgres:
            return "local-agent"
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:8]
        return f"agent-{socket.gethostname()}-{digest}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    if ":" in creds:
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url
