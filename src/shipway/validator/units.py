"""How sizes and durations are written in the report: `1.5 GiB`, `500ms`, `2s`."""

from __future__ import annotations

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size_text(size: float) -> str:
    """`256 MiB`, `1.5 GiB`: binary units, at most one decimal."""
    value = float(size)
    unit = _SIZE_UNITS[0]
    for unit in _SIZE_UNITS:
        if abs(value) < 1024 or unit == _SIZE_UNITS[-1]:
            break
        value /= 1024
    return f"{value:.1f}".removesuffix(".0") + f" {unit}"


def seconds_text(seconds: float) -> str:
    """`500ms`, `2s`, `1.5s`: how a timeout or a latency is shown."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    return f"{seconds:.3g}s"
