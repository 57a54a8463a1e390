"""Shared by the runtime benchmarks: a copy of examples/notes in a temporary folder,
deployed to `dev` on a free public port through the real CLI and agent."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "notes"


class Example:
    def __init__(self, root: Path, *, health_interval: str | None = None) -> None:
        self.root = root
        shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".shipway", "__pycache__"))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        # No tests and no monitoring: these benchmarks time releases, not the test stage
        # or the scraping beside it.
        text = self.manifest.read_text()
        for section in ("tests", "monitoring"):
            text = re.sub(rf"^{section}:.*\n(?:[ #].*\n|\n)*", "", text, flags=re.M)
        text = text.replace("port: 8080", f"port: {self.port}")
        if health_interval is not None:
            text = text.replace("interval: 1s", f"interval: {health_interval}")
        self.manifest.write_text(text)

    @property
    def manifest(self) -> Path:
        return self.root / "shipway.yaml"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_version(self, version: str) -> None:
        text = re.sub(
            r'NOTES_VERSION: "[^"]*"', f'NOTES_VERSION: "{version}"', self.manifest.read_text()
        )
        self.manifest.write_text(text)

    def shipway(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.pop("SHIPWAY_STATE_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "shipway", *args, "-f", str(self.manifest)],
            capture_output=True,
            text=True,
            env=env,
            cwd=self.root,
            timeout=120,
            check=False,
        )

    def deploy(self) -> None:
        done = self.shipway("deploy", "-e", "dev")
        if done.returncode != 0:
            raise SystemExit(f"deploy failed ({done.returncode}): {done.stderr}{done.stdout}")

    def stop(self) -> None:
        self.shipway("agent", "stop")
