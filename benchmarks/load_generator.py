"""Load generator throughput and rate accuracy (issue 8).

Part (a), throughput: the highest sustained requests/s one core of client gets out of an
nginx that is never the bottleneck (`return 200`, keep-alive requests unlimited, one
worker on core 1, started here with its own prefix), for shipway's open-model generator,
for Locust (FastHttpUser, one process, headless, no wait time) and for `wrk -t1`, all in
this run, each client pinned to core 0 with taskset. shipway's generator is asked for far
more than it can send, so it sends as fast as it can; its figure is answers per second
of sending. Targets: shipway >= 5x Locust and >= 0.4x wrk.

Part (b), rate accuracy: 2,000 requests/s for 10 s; the achieved rate must be within 2%
of it, and latency is measured from each request's intended send time (printed beside
the time from the actual send, which can only be smaller).

    python benchmarks/load_generator.py

Needs the Debian packages `nginx-light` and `wrk`, and Locust (`pip install locust`).
The last line is the RESULT line (shipway against wrk); the exit status is 1 when a
target is missed. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

CLIENT_CPU = "0"
SERVER_CPU = "1"
SECONDS = 5
CONNECTIONS = 64

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  client_body_temp_path {prefix}/body;
  proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fastcgi;
  uwsgi_temp_path {prefix}/uwsgi;
  scgi_temp_path {prefix}/scgi;
  server {{ listen 127.0.0.1:{port} backlog=4096; location / {{ return 200 "ok"; }} }}
}}
"""

SHIPWAY = """
import json, sys
from shipway.tester.load.generator import LoadPlan, run_in_thread
from shipway.tester.load.wire import wire_request
port, connections = int(sys.argv[1]), int(sys.argv[4])
rate, seconds = float(sys.argv[2]), float(sys.argv[3])
request = wire_request("GET", f"http://127.0.0.1:{port}/", {}, None, "GET /")
stats = run_in_thread(LoadPlan("127.0.0.1", port, (request,), rate, seconds, connections, 30.0))
print(json.dumps({**stats.to_dict(), "answers_per_second": stats.succeeded / stats.send_seconds}))
"""

LOCUSTFILE = """
from locust import FastHttpUser, constant, task

class Hammer(FastHttpUser):
    wait_time = constant(0)

    @task
    def root(self):
        self.client.get("/")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def nginx(tmp: Path) -> Iterator[int]:
    prefix = tmp / "nginx"
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(prefix=prefix, port=port))
    binary = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
    argv = ["taskset", "-c", SERVER_CPU, str(binary), "-p", str(prefix), "-c", str(conf)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("nginx did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def pinned(*argv: str, timeout: float = 60) -> str:
    done = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {done.stderr[-500:]}")
    return done.stdout


def shipway(port: int, rate: float, seconds: float, connections: int) -> dict[str, float]:
    out = pinned(
        sys.executable, "-c", SHIPWAY, str(port), str(rate), str(seconds), str(connections)
    )
    return dict(json.loads(out.strip().splitlines()[-1]))


def wrk(port: int) -> float:
    out = pinned("wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", f"http://127.0.0.1:{port}/")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match[1])


def locust(port: int, tmp: Path) -> float:
    locustfile = tmp / "locustfile.py"
    locustfile.write_text(textwrap.dedent(LOCUSTFILE))
    prefix = tmp / "locust"
    locust_bin = Path(sys.executable).with_name("locust")
    pinned(
        str(locust_bin), "-f", str(locustfile), "--headless", "--only-summary",
        "-u", str(CONNECTIONS), "-r", str(CONNECTIONS * 4), "-t", f"{SECONDS + 1}s",
        "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--loglevel", "ERROR",
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    return float(rows["Aggregated"]["Requests/s"])


def main() -> int:
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin") is None:
        missing.append("nginx")
    if not Path(sys.executable).with_name("locust").exists():
        missing.append("locust (pip install locust)")
    if missing:
        print(f"missing: {', '.join(missing)} (apt-get install nginx-light wrk)")
        return 1
    with tempfile.TemporaryDirectory() as tmp, nginx(Path(tmp)) as port:
        ours = shipway(port, 500_000, SECONDS, CONNECTIONS)
        ours_rate = float(ours["answers_per_second"])
        theirs_wrk = wrk(port)
        theirs_locust = locust(port, Path(tmp))
        accuracy = shipway(port, 2000, 10, CONNECTIONS)
    print(
        f"(a) shipway generator, one core: {ours_rate:,.0f} req/s "
        f"({ours['connections_opened']:.0f} connections)"
    )
    print(f"(a) wrk -t1 -c{CONNECTIONS}:          {theirs_wrk:,.0f} req/s")
    print(f"(a) Locust FastHttpUser:        {theirs_locust:,.0f} req/s")
    vs_locust = ours_rate / theirs_locust
    vs_wrk = ours_rate / theirs_wrk
    print(
        f"(a) shipway / Locust = {vs_locust:.2f} (target >= 5), shipway / wrk = {vs_wrk:.2f} "
        "(target >= 0.4)"
    )
    achieved = float(accuracy["achieved_rate"])
    error = abs(achieved - 2000) / 2000
    latency, service = accuracy["latency_ms"], accuracy["service_ms"]
    print(
        f"(b) 2,000 req/s for 10 s: sent {accuracy['sent']:.0f}, achieved {achieved:,.1f} req/s "
        f"({error:.2%} off, target <= 2%), errors {accuracy['failed']:.0f}"
    )
    print(
        f"(b) latency from intended send time: p50 {latency['p50']} ms, p99 {latency['p99']} "
        f"ms, max {latency['max']} ms; from actual send: p50 {service['p50']} ms, "
        f"p99 {service['p99']} ms"
    )
    missed = vs_locust < 5 or vs_wrk < 0.4 or error > 0.02 or accuracy["failed"] > 0
    print(
        f"RESULT load_generator {ours_rate:.0f} req/s (ref {theirs_wrk:.0f} req/s, "
        f"ratio {vs_wrk:.2f})"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
