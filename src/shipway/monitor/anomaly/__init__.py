"""Anomaly detection per series: robust z-score, EWMA control chart and a seasonal
baseline (`detectors.py`), evaluated by the agent's `AnomalyCollector` on each rule of
`monitoring.anomalies` (`evaluate.py`, `collector.py`)."""

from shipway.monitor.anomaly.detectors import Judgement, ewma, robust_zscore, scan, seasonal

__all__ = ["Judgement", "ewma", "robust_zscore", "scan", "seasonal"]
