"""Notifications: the `Notifier` seam (`interface.py`), one module per kind (`webhook`,
`slack`, `email`), the Alertmanager-compatible payload (`payload.py`) and delivery with
retries, a deadline and a record of every attempt (`delivery.py`)."""
