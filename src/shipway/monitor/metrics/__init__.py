"""Metrics: the store's series and samples (`storage.py`), their retention and 1-minute
rollups (`retention.py`), the Prometheus text-format parser (`exposition.py`), the agent's
scrape / host / own-metrics collectors (`scrape.py`, `host.py`, `own.py`) and shipway's own
`/metrics` endpoint (`endpoint.py`).

    write_samples(store, "notes", "dev", [("up", {"job": "web"}, 1733240000.0, 1.0)])
"""

from shipway.monitor.metrics.storage import MetricRepository, SeriesRef, write_samples

__all__ = ["MetricRepository", "SeriesRef", "write_samples"]
