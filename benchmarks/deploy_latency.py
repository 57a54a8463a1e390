"""Deploy latency: from `shipway deploy` (the command starting) to the new release
answering on the public port, for the example with no tests configured and the agent
already running. Median of 5 deploys. Target: <= 3 s.

The reference is the floor the health gate itself sets: the example's cold start (launch
to first 200 on /health, measured here by starting it directly) plus (healthy_after - 1)
health intervals.

    python benchmarks/deploy_latency.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from deployed_example import Example

RUNS = 5
TARGET = 3.0


def version_at(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as response:
            return str(json.loads(response.read())["version"])
    except (OSError, ValueError):
        return None


def one_deploy(example: Example, version: str) -> float:
    example.set_version(version)
    seen = threading.Event()
    began = time.monotonic()
    served_at: list[float] = []

    def watch() -> None:
        while not seen.is_set():
            if version_at(example.url) == version:
                served_at.append(time.monotonic())
                seen.set()
                return
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    example.deploy()
    seen.wait(10)
    seen.set()
    watcher.join(2)
    if not served_at:
        raise SystemExit(f"version {version} was never served")
    return served_at[0] - began


def cold_start(example: Example) -> float:
    """Launch the app directly and time its first healthy answer."""
    with tempfile.TemporaryDirectory() as data:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{data}/n.db", NOTES_VERSION="x")
        began = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "notes.app", "--port", str(port)],
            cwd=example.root / "app",
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while version_at(f"http://127.0.0.1:{port}") != "x":
                time.sleep(0.005)
            return time.monotonic() - began
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as tmp:
        example = Example(Path(tmp) / "notes")
        try:
            example.deploy()  # starts the agent: not measured
            times = [one_deploy(example, f"v{n}") for n in range(RUNS)]
            floor = statistics.median(cold_start(example) for _ in range(3)) + 1.0
        finally:
            example.stop()
    median = statistics.median(times)
    print("deploy to serving, each run: " + ", ".join(f"{t:.2f}s" for t in times))
    print(f"target <= {TARGET:.1f}s: {'met' if median <= TARGET else 'MISSED'}")
    print(f"RESULT deploy_latency {median:.3f} s (ref {floor:.3f} s, ratio {median / floor:.2f})")


if __name__ == "__main__":
    main()
