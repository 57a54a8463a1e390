"""Validation of 200 checks: the wall time of one `shipway validate` run.

Half the checks are network checks against local ports: 40 TCP connects to a listening
socket, 20 HTTP requests to a local server, 20 free-port checks, and 20 TCP connects to a
port that never answers, each with a 1 s timeout. The other half: hardware (5), commands
on PATH with their versions (25), Python packages (25), file modes (25) and environment
variables (20). The ideal is the longest timeout, 1.0 s: everything above it is the
validator's own cost. The median of three runs is reported. Target: <= 1.5 s.

    python benchmarks/validate_many.py
"""

from __future__ import annotations

import asyncio
import http.server
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from shipway.manifest import load_manifest, resolve_environment
from shipway.validator import validate

RUNS = 3
TIMEOUT = 1.0
TARGET = 1.5
COMMANDS = ["sh", "ls", "cat", "env", "grep", "python3", "date", "uname", "id", "sleep"]
PACKAGES = ["pydantic", "typer", "rich", "psutil", "sqlalchemy"]


class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 would drop the concurrent connects' SYNs


def manifest(root: Path, listening: int, silent: int, web: int) -> str:
    network = []
    network += [f"    - tcp: 127.0.0.1:{listening}\n      timeout: 1s\n"] * 40
    network += [f"    - http: http://127.0.0.1:{web}/\n      timeout: 1s\n"] * 20
    network += [f"    - port_free: {free_port()}\n" for _ in range(20)]
    network += [f"    - tcp: 127.0.0.1:{silent}\n      timeout: 1s\n"] * 20
    software = [
        f"    - command: {COMMANDS[i % len(COMMANDS)]}\n"
        + ("      version: '>=0'\n" if COMMANDS[i % len(COMMANDS)] == "python3" else "")
        for i in range(25)
    ]
    software += [f"    - python_package: {PACKAGES[i % len(PACKAGES)]}\n" for i in range(25)]
    security = []
    for i in range(25):
        (root / f"file{i}").write_text("x")
        (root / f"file{i}").chmod(0o600)
        security.append(f'    - path: file{i}\n      max_mode: "0640"\n')
    security += [f"    - env: BENCH_VAR_{i}\n      required: false\n" for i in range(20)]
    return (
        "version: 1\nproject: bench\nenvironments:\n  dev: {}\nrequirements:\n"
        "  hardware: {cpus: 1, memory: 1Mi, memory_available: 1Mi, disk_free: 1Mi, "
        f"arch: [{os.uname().machine}]}}\n"
        "  software:\n"
        + "".join(software)
        + "  network:\n"
        + "".join(network)
        + "  security:\n"
        + "".join(security)
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> int:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(0)
    fillers = [socket.socket() for _ in range(3)]  # a full accept queue: SYNs go unanswered
    for filler in fillers:
        filler.setblocking(False)
        filler.connect_ex(silent.getsockname())
    server = Server(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            path = root / "shipway.yaml"
            ports = (listener.getsockname()[1], silent.getsockname()[1], server.server_address[1])
            path.write_text(manifest(root, *ports))
            loaded = load_manifest(path)
            environment = resolve_environment(loaded, "dev")
            timings = []
            for run in range(RUNS):
                begin = time.perf_counter()
                report = asyncio.run(validate(loaded, environment, home=root / ".shipway"))
                timings.append(time.perf_counter() - begin)
                counts = report.counts()
                timeouts = sum(r.observed == "no answer within 1s" for r in report.results)
                print(
                    f"run {run + 1}: {timings[-1]:.3f} s, {len(report.results)} checks, "
                    f"{counts}, {timeouts} timed out"
                )
                if len(report.results) != 200 or timeouts != 20 or counts["fail"] != 20:
                    for result in report.results:
                        if result.status == "fail":
                            print(f"  {result.check}: {result.observed}")
                    return 1
    finally:
        server.shutdown()
        server.server_close()
        for sock in (listener, silent, *fillers):
            sock.close()
    value = statistics.median(timings)
    if value > TARGET:
        print(f"TARGET MISSED: {value:.3f} s > {TARGET} s")
    print(f"RESULT validate_many {value:.3f} s (ref {TIMEOUT:.3f} s, ratio {value / TIMEOUT:.3f})")
    return 0 if value <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
