"""The `monitoring` section: metrics, logs, alerts, notifications and post-release analysis.

Analysis compares the new release with the previous one during the observe stage; with no
data it fails unless told otherwise, because "no data" must never pass silently.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shipway.manifest.fields import (
    Duration,
    HttpUrl,
    ManifestModel,
    Name,
    require_one_of,
)


class ScrapeTarget(ManifestModel):
    """A Prometheus-format metrics endpoint of a service."""

    service: Name = Field(description="Service to scrape (on its current release).")
    path: str = Field("/metrics", pattern=r"^/", description="Metrics path.")
    interval: Duration = Field("15s", validate_default=True, description="Scrape interval.")


class LogSource(ManifestModel):
    """Logs to collect: a service's output or a file on the host."""

    service: Name | None = Field(None, description="Service whose stdout/stderr is captured.")
    file: str | None = Field(None, min_length=1, description="Log file to follow.")
    format: Literal["text", "json", "combined"] = Field(
        "text", description="Line format: plain text, JSON lines, or the combined access log."
    )

    @model_validator(mode="after")
    def _one_source(self) -> LogSource:
        require_one_of(self, "a log source", "service", "file")
        return self


class AlertRule(ManifestModel):
    """A PromQL-style expression that fires when true for a while."""

    name: str = Field(min_length=1, description="Alert name.")
    expr: str = Field(min_length=1, description="Expression over scraped metrics.")
    for_: Duration = Field(
        "0s", alias="for", validate_default=True, description="How long it must hold to fire."
    )
    severity: Literal["critical", "warning", "info"] = Field(
        "warning", description="Severity shown and sent."
    )
    notify: list[Name] = Field(
        default_factory=list, description="Channels from `monitoring.notify` to alert."
    )


class NotifyChannel(ManifestModel):
    """Where notifications go."""

    webhook: HttpUrl | None = Field(None, description="URL that receives a JSON POST.")
    slack: HttpUrl | None = Field(None, description="Slack incoming-webhook URL.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers; values may be references."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> NotifyChannel:
        require_one_of(self, "a notification channel", "webhook", "slack")
        return self


class AnalysisMetric(ManifestModel):
    """A metric compared between the new and the previous release."""

    name: str = Field(min_length=1, description="Metric name in reports.")
    query: str = Field(min_length=1, description="Expression evaluated for each release.")
    max_increase: float = Field(
        ge=0, description="Largest allowed increase over the previous release (absolute)."
    )


class AnalysisSpec(ManifestModel):
    """Post-release comparison run by the observe stage."""

    duration: Duration = Field("60s", validate_default=True, description="Observation time.")
    metrics: list[AnalysisMetric] = Field(default_factory=list, description="Metrics compared.")
    on_no_data: Literal["fail", "pass", "inconclusive"] = Field(
        "fail", description="Verdict when a metric has no data."
    )
    rollback: bool = Field(True, description="Roll back when the analysis fails.")


class MonitoringSpec(ManifestModel):
    """Always-on monitoring, plus the analysis that gates a release."""

    scrape: list[ScrapeTarget] = Field(default_factory=list, description="Metric endpoints.")
    logs: list[LogSource] = Field(default_factory=list, description="Log sources.")
    alerts: list[AlertRule] = Field(default_factory=list, description="Alert rules.")
    notify: dict[Name, NotifyChannel] = Field(
        default_factory=dict, description="Named notification channels."
    )
    analysis: AnalysisSpec | None = Field(None, description="Post-release analysis.")
