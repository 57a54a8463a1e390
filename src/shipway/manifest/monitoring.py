"""The `monitoring` section: metrics, logs, alerts, notifications and post-release analysis.

Analysis compares the new release with the previous one during the observe stage; with no
data it fails unless told otherwise, because "no data" must never pass silently.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import Field, model_validator

from shipway.manifest.fields import (
    Duration,
    HttpUrl,
    ManifestModel,
    ModelProblem,
    Name,
    Rate,
    require_one_of,
)
from shipway.manifest.references import has_reference


class ScrapeTarget(ManifestModel):
    """A Prometheus-format metrics endpoint of a service."""

    service: Name = Field(description="Service to scrape (on its current release).")
    path: str = Field("/metrics", pattern=r"^/", description="Metrics path.")
    interval: Duration = Field("15s", validate_default=True, description="Scrape interval.")
    timeout: Duration = Field(
        "10s",
        validate_default=True,
        description="Scrape timeout (at most the interval, as in Prometheus).",
    )


class MetricsRetention(ManifestModel):
    """How long stored metrics are kept: raw samples, then 1-minute rollups."""

    raw: Duration = Field("24h", validate_default=True, description="Raw samples kept.")
    rollups: Duration = Field(
        "30d", validate_default=True, description="1-minute rollups kept (for older ranges)."
    )


class LogSource(ManifestModel):
    """Logs to collect: a service's output or a file on the host."""

    service: Name | None = Field(None, description="Service whose stdout/stderr is captured.")
    file: str | None = Field(None, min_length=1, description="Log file to follow.")
    format: Literal["auto", "text", "json", "logfmt", "common", "combined"] = Field(
        "auto",
        description=(
            "Line format: plain text (level words and times found in the text), JSON "
            "lines, logfmt, the common or combined access log, or auto (each line tried "
            "as JSON, access log, logfmt, then text)."
        ),
    )
    retention: Duration = Field(
        "7d", validate_default=True, description="How long this source's lines are kept."
    )

    @model_validator(mode="after")
    def _one_source(self) -> LogSource:
        require_one_of(self, "a log source", "service", "file")
        return self


class LogCondition(ManifestModel):
    """A log-based alert condition: lines matching `pattern` over `window`, above a count
    or a rate."""

    pattern: str = Field(min_length=1, description="Regular expression a line must match.")
    service: Name | None = Field(None, description="Only lines of this service.")
    window: Duration = Field("1m", validate_default=True, description="Counting window.")
    count: int | None = Field(None, ge=0, description="Fire when more lines than this.")
    rate: Rate | None = Field(None, description="Fire when lines come faster than this.")

    @model_validator(mode="after")
    def _valid(self) -> LogCondition:
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise ModelProblem(f"invalid regular expression: {exc}", ("pattern",)) from exc
        if self.window <= 0:
            raise ModelProblem("the window must be longer than 0s", ("window",))
        require_one_of(self, "a log condition", "count", "rate")
        return self


_TEMPLATE = re.compile(r"\{\{(.*?)\}\}")
_TEMPLATE_FORMS = re.compile(r"\s*\$(?:value|labels\.[A-Za-z_][A-Za-z0-9_]*)\s*")


def _check_templates(texts: dict[str, str], key: str) -> None:
    for name, text in texts.items():
        for match in _TEMPLATE.finditer(text):
            if not _TEMPLATE_FORMS.fullmatch(match[1]):
                raise ModelProblem(
                    f"unsupported template {match[0][:60]!r}: use {{{{ $labels.NAME }}}} "
                    "or {{ $value }}",
                    (key, name),
                )


class AlertRule(ManifestModel):
    """A PromQL-style expression (or a log condition) that fires when true for a while."""

    name: str = Field(min_length=1, description="Alert name.")
    expr: str | None = Field(None, min_length=1, description="Expression over scraped metrics.")
    log: LogCondition | None = Field(None, description="Log-based condition instead of `expr`.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels added to the alert; may use {{ $labels.NAME }} and {{ $value }}.",
    )
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="Annotations (summary, description, ...); templated like `labels`.",
    )
    for_: Duration = Field(
        "0s", alias="for", validate_default=True, description="How long it must hold to fire."
    )
    severity: Literal["critical", "warning", "info"] = Field(
        "warning", description="Severity shown and sent."
    )
    notify: list[Name] = Field(
        default_factory=list, description="Channels from `monitoring.notify` to alert."
    )

    @model_validator(mode="after")
    def _one_condition(self) -> AlertRule:
        require_one_of(self, "an alert rule", "expr", "log")
        _check_templates(self.labels, "labels")
        _check_templates(self.annotations, "annotations")
        return self


class EmailSettings(ManifestModel):
    """Email over SMTP."""

    to: list[str] = Field(min_length=1, description="Recipient addresses.")
    from_: str = Field(alias="from", min_length=3, description="Sender address.")
    host: str = Field(min_length=1, description="SMTP server host name.")
    port: int = Field(587, gt=0, lt=65536, description="SMTP server port.")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS.")
    tls: bool = Field(False, description="Connect with TLS from the start (port 465).")
    username: str | None = Field(None, description="SMTP login name.")
    password: str | None = Field(
        None, description="SMTP password: a ${secret:NAME} reference, read when sending."
    )

    @model_validator(mode="after")
    def _one_tls(self) -> EmailSettings:
        if self.tls and self.starttls:
            raise ModelProblem("choose either tls (port 465) or starttls, not both", ("tls",))
        if self.password is not None and not has_reference(self.password):
            raise ModelProblem(
                "write the password as a ${secret:NAME} reference, not in the manifest",
                ("password",),
            )
        return self


class NotifyChannel(ManifestModel):
    """Where notifications go."""

    webhook: HttpUrl | None = Field(None, description="URL that receives a JSON POST.")
    slack: HttpUrl | None = Field(None, description="Slack incoming-webhook URL.")
    email: EmailSettings | None = Field(None, description="Email over SMTP.")
    headers: dict[str, str] = Field(
        default_factory=dict, description="Extra request headers; values may be references."
    )
    send_resolved: bool | None = Field(
        None,
        description="Notify when alerts resolve (default as Alertmanager: webhook yes, "
        "slack and email no).",
    )
    timeout: Duration = Field("10s", validate_default=True, description="Timeout per attempt.")

    @model_validator(mode="after")
    def _one_kind(self) -> NotifyChannel:
        require_one_of(self, "a notification channel", "webhook", "slack", "email")
        return self


class AlertingSpec(ManifestModel):
    """How firing alerts become notifications (Alertmanager's route settings)."""

    group_by: list[str] = Field(
        default_factory=lambda: ["alertname"],
        description="Labels that group alerts into one notification ('...' for all labels).",
    )
    group_wait: Duration = Field(
        "30s", validate_default=True, description="Wait before a new group's first notification."
    )
    group_interval: Duration = Field(
        "5m", validate_default=True, description="Wait before notifying a group's changes."
    )
    repeat_interval: Duration = Field(
        "4h", validate_default=True, description="Wait before re-sending an unchanged group."
    )
    resolved_retention: Duration = Field(
        "15m", validate_default=True, description="How long resolved alerts stay listed."
    )

    @model_validator(mode="after")
    def _positive(self) -> AlertingSpec:
        for key in ("group_interval", "repeat_interval"):
            if getattr(self, key) <= 0:
                raise ModelProblem(f"{key} must be longer than 0s (as in Alertmanager)", (key,))
        return self


class AnalysisMetric(ManifestModel):
    """A metric compared between the new and the previous release."""

    name: str = Field(min_length=1, description="Metric name in reports.")
    query: str = Field(min_length=1, description="Expression evaluated for each release.")
    max_increase: float | None = Field(
        None,
        ge=0,
        description="Largest allowed increase over the previous release (absolute); "
        "unset: any significant increase fails when `direction` watches increases.",
    )
    max_decrease: float | None = Field(
        None,
        ge=0,
        description="Largest allowed decrease below the previous release (absolute); "
        "unset: any significant decrease fails when `direction` watches decreases.",
    )
    direction: Literal["increase", "decrease", "either"] = Field(
        "increase", description="Which change is bad: an increase, a decrease, or either."
    )
    weight: float = Field(1.0, gt=0, description="Weight of this metric in the score.")
    critical: bool = Field(
        False, description="A failure of this metric fails the analysis whatever the score."
    )


class AnalysisSpec(ManifestModel):
    """Post-release comparison run by the observe stage."""

    duration: Duration = Field("60s", validate_default=True, description="Observation time.")
    metrics: list[AnalysisMetric] = Field(default_factory=list, description="Metrics compared.")
    on_no_data: Literal["fail", "pass", "inconclusive"] = Field(
        "fail", description="Verdict when a metric has no data."
    )
    rollback: bool = Field(True, description="Roll back when the analysis fails.")
    pass_score: float = Field(
        95, ge=0, le=100, description="Score (0-100) at or above which the release passes."
    )
    marginal_score: float = Field(
        75,
        ge=0,
        le=100,
        description="Score at or above which a release below `pass_score` is kept with a "
        "warning; below it the analysis fails.",
    )
    step: Duration | None = Field(
        None,
        description="Time between the compared samples; default: the smallest scrape "
        "interval of the environment (at least 1s).",
    )
    confidence: float = Field(
        0.95,
        gt=0.5,
        lt=1,
        description="Confidence of the Mann-Whitney U test that a change is not noise.",
    )

    @model_validator(mode="after")
    def _ordered_scores(self) -> AnalysisSpec:
        if self.marginal_score > self.pass_score:
            raise ModelProblem(
                f"marginal_score ({self.marginal_score:g}) is above pass_score "
                f"({self.pass_score:g})",
                ("marginal_score",),
            )
        return self


AnomalyDetector = Literal["zscore", "ewma", "seasonal"]


class AnomalyRule(ManifestModel):
    """A series watched for anomalies by the agent."""

    name: Name = Field(description="Name of the rule: the `metric` label of `shipway_anomaly`.")
    query: str = Field(min_length=1, description="Expression whose series are watched.")
    detectors: list[AnomalyDetector] = Field(
        default_factory=lambda: list[AnomalyDetector](["zscore"]),
        min_length=1,
        description="Robust z-score (median/MAD), EWMA control chart, seasonal baseline "
        "(same time of day on previous days, once 3 days of history exist).",
    )
    window: Duration = Field(
        "1h", validate_default=True, description="Recent history each point is compared with."
    )
    step: Duration = Field("1m", validate_default=True, description="Time between points.")
    threshold: float = Field(
        3.5, gt=0, description="How many (robust) standard deviations make an anomaly."
    )
    smoothing: float = Field(
        0.3, gt=0, le=1, description="EWMA weight of the newest point (lambda)."
    )
    interval: Duration = Field(
        "1m", validate_default=True, description="How often the agent evaluates the rule."
    )

    @model_validator(mode="after")
    def _enough_points(self) -> AnomalyRule:
        # NOTE: the detectors judge nothing with fewer than 20 points of history
        # (monitor/anomaly/detectors.py MIN_HISTORY); EWMA also needs its own span.
        needed = 20 + (math.ceil(2 / self.smoothing) - 1 if "ewma" in self.detectors else 0)
        if self.step <= 0 or self.window / self.step < needed:
            raise ModelProblem(
                f"a window of {self.window.text} holds fewer than {needed} points at a step "
                f"of {self.step.text}: use a longer window or a shorter step",
                ("window",),
            )
        return self


class MonitoringSpec(ManifestModel):
    """Always-on monitoring, plus the analysis that gates a release."""

    scrape: list[ScrapeTarget] = Field(default_factory=list, description="Metric endpoints.")
    logs: list[LogSource] = Field(default_factory=list, description="Log sources.")
    alerts: list[AlertRule] = Field(default_factory=list, description="Alert rules.")
    evaluation_interval: Duration = Field(
        "15s", validate_default=True, description="How often alert rules are evaluated."
    )
    alerting: AlertingSpec = Field(
        default_factory=AlertingSpec, description="Grouping and repeat of notifications."
    )
    notify: dict[Name, NotifyChannel] = Field(
        default_factory=dict, description="Named notification channels."
    )
    analysis: AnalysisSpec | None = Field(None, description="Post-release analysis.")
    anomalies: list[AnomalyRule] = Field(
        default_factory=list, description="Series watched for anomalies."
    )
    retention: MetricsRetention = Field(
        default_factory=MetricsRetention, description="How long stored metrics are kept."
    )
    prometheus_url: HttpUrl | None = Field(
        None,
        description="Query this Prometheus (its HTTP API) instead of shipway's own store.",
    )
