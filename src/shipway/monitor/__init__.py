"""MonitoringDashboard backend: metrics, logs, alerts, notifications, anomaly detection and
post-release analysis. The agent runs the always-on parts as collectors
(`monitor/collectors.py`); the observe stage runs the analysis.
"""
