"""Host metrics from psutil, named as node_exporter names them where it has a name:
CPU time by mode, load, memory, filesystems, disk and network I/O."""

from __future__ import annotations

import os
import socket
import time

import psutil

from shipway.monitor.metrics.storage import Sample

_CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
_IGNORED_FS = {"proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "overlay"}


def host_samples(now: float | None = None) -> list[Sample]:
    """One reading of this host's metrics, labelled job="node", instance=host name."""
    when = time.time() if now is None else now
    base = {"job": "node", "instance": socket.gethostname()}
    out: list[Sample] = []

    def add(name: str, value: float, **labels: str) -> None:
        out.append((name, {**base, **labels}, when, float(value)))

    for cpu, times in enumerate(psutil.cpu_times(percpu=True)):
        for mode in _CPU_MODES:
            if hasattr(times, mode):
                add("node_cpu_seconds_total", getattr(times, mode), cpu=str(cpu), mode=mode)
    load1, load5, load15 = os.getloadavg()
    add("node_load1", load1)
    add("node_load5", load5)
    add("node_load15", load15)
    memory = psutil.virtual_memory()
    add("node_memory_MemTotal_bytes", memory.total)
    add("node_memory_MemAvailable_bytes", memory.available)
    add("node_memory_MemFree_bytes", memory.free)
    for field, name in (("buffers", "Buffers"), ("cached", "Cached")):
        if hasattr(memory, field):
            add(f"node_memory_{name}_bytes", getattr(memory, field))
    for part in psutil.disk_partitions(all=False):
        if part.fstype in _IGNORED_FS:
            continue
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        labels = {"device": part.device, "mountpoint": part.mountpoint, "fstype": part.fstype}
        add("node_filesystem_size_bytes", usage.total, **labels)
        add("node_filesystem_avail_bytes", usage.free, **labels)
    for device, io in (psutil.disk_io_counters(perdisk=True) or {}).items():
        add("node_disk_read_bytes_total", io.read_bytes, device=device)
        add("node_disk_written_bytes_total", io.write_bytes, device=device)
        add("node_disk_reads_completed_total", io.read_count, device=device)
        add("node_disk_writes_completed_total", io.write_count, device=device)
    for device, net in psutil.net_io_counters(pernic=True).items():
        add("node_network_receive_bytes_total", net.bytes_recv, device=device)
        add("node_network_transmit_bytes_total", net.bytes_sent, device=device)
        add("node_network_receive_packets_total", net.packets_recv, device=device)
        add("node_network_transmit_packets_total", net.packets_sent, device=device)
        add("node_network_receive_errs_total", net.errin, device=device)
        add("node_network_transmit_errs_total", net.errout, device=device)
    return out
