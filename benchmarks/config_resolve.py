"""Configuration resolution: 100 services x 5 layers x 1,000 keys per layer (10 keys per
service), 10% of the values interpolations of other keys: the full resolution that the
configure stage does (read and parse the layers, merge, resolve references, lint).
Median of 5 runs. Target: <= 0.5 s.

The reference is the floor of reading the same layers: parsing the 5 YAML files with
PyYAML's C loader alone.

    python benchmarks/config_resolve.py
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from shipway.config.manager import ConfigurationManager
from shipway.manifest import load_manifest, resolve_environment

SERVICES = 100
LAYERS = 5
KEYS_PER_SERVICE = 10
REFERENCE_SHARE = 0.10
RUNS = 5
TARGET = 0.5


def write_project(root: Path) -> Path:
    rng = random.Random(7)
    names = [f"layer{i}.yaml" for i in range(LAYERS)]
    for index, name in enumerate(names):
        lines = []
        for s in range(SERVICES):
            lines.append(f"svc{s:03d}:")
            for k in range(KEYS_PER_SERVICE):
                if index > 0 and rng.random() < REFERENCE_SHARE:
                    other = f"svc{rng.randrange(SERVICES):03d}.key{rng.randrange(KEYS_PER_SERVICE)}"
                    # References point at layer-0-only keys, so no cycles can form.
                    value = f'"${{config.base.{other.replace(".", "_")}}}"'
                else:
                    value = f'"value-{index}-{s}-{k}"'
                lines.append(f"  key{k}: {value}")
        if index == 0:
            lines.append("base:")
            lines += [
                f"  svc{s:03d}_key{k}: base-{s}-{k}"
                for s in range(SERVICES)
                for k in range(KEYS_PER_SERVICE)
            ]
        (root / name).write_text("\n".join(lines) + "\n")
    manifest = root / "shipway.yaml"
    layers = ", ".join(names)
    manifest.write_text(
        f"version: 1\nproject: bench\nenvironments:\n  dev: {{}}\nconfig:\n  layers: [{layers}]\n"
    )
    return manifest


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipway-bench-") as tmp:
        manifest = write_project(Path(tmp))
        loaded = load_manifest(manifest)
        environment = resolve_environment(loaded, "dev")
        times, floors = [], []
        for _ in range(RUNS):
            manager = ConfigurationManager(loaded, environment, Path(tmp) / ".shipway", env={})
            began = time.perf_counter()
            resolution = manager.resolve()
            times.append(time.perf_counter() - began)
            began = time.perf_counter()
            for i in range(LAYERS):
                yaml.load((Path(tmp) / f"layer{i}.yaml").read_text(), Loader=yaml.CSafeLoader)
            floors.append(time.perf_counter() - began)
        values = resolution.version().values
        keys = sum(len(v) for v in values.values())
        reference = values["svc001"]
        assert all(not str(v).startswith("${") for v in reference.values())
    median, floor = statistics.median(times), statistics.median(floors)
    print(
        f"{LAYERS} layers, {SERVICES} services, {keys} resolved keys; runs: "
        + ", ".join(f"{t:.3f}s" for t in times)
    )
    print(f"target <= {TARGET}s: {'met' if median <= TARGET else 'MISSED'}")
    print(f"RESULT config_resolve {median:.3f} s (ref {floor:.3f} s, ratio {median / floor:.2f})")


if __name__ == "__main__":
    main()
