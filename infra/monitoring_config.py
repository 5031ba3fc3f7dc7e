"""The Monitoring group of the stack configuration: validated into MonitoringSettings.

Kept apart from infra/config.py (which calls :func:`parse_monitoring`) so the monitoring keys and
their rules sit in one place. Keys are declared in infra/config_schema.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlsplit

from components.monitoring_queries import ALERT_WINDOW_MINUTES, AlertThresholds
from infra.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from infra.config_reader import _Reader

_EMAIL = re.compile(r"^[^@\s,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class MonitoringSettings:
    enabled: bool
    alert_emails: tuple[str, ...]
    alert_webhook_configured: bool  # the URL itself is read as a Pulumi secret by the program
    thresholds: AlertThresholds
    certificate_check: bool


def parse_monitoring(r: "_Reader", prod: bool, webhook_is_secret: Optional[bool], offline_placeholder: str) -> MonitoringSettings:
    """`webhook_is_secret`: whether the runtime holds `alertWebhookUrl` as a secret (None: unknown).
    `offline_placeholder`: the stand-in offline evaluation uses for encrypted values (not checked as a URL)."""
    enabled = r.boolean("monitoringEnabled", prod)
    emails = r.string_list("alertEmails")
    for address in emails:
        if not _EMAIL.match(address):
            raise ConfigError(r.full("alertEmails"), address, "e-mail addresses such as oncall@contoso.com")
    if len(set(a.lower() for a in emails)) != len(emails):
        raise ConfigError(r.full("alertEmails"), list(emails), "each address once")
    if len(emails) > 10:
        raise ConfigError(r.full("alertEmails"), f"{len(emails)} addresses", "at most 10 (use a distribution list)")

    webhook = r.string("alertWebhookUrl")
    if webhook is not None:
        if webhook_is_secret is False:
            raise ConfigError(r.full("alertWebhookUrl"), "a plain-text value",
                              "a secret: pulumi config set --secret liveness:alertWebhookUrl <url>")
        if webhook != offline_placeholder:
            parts = urlsplit(webhook)
            if parts.scheme != "https" or not parts.hostname:
                # Never echo the URL: it may carry a token.
                raise ConfigError(r.full("alertWebhookUrl"), f"a {parts.scheme or 'schemeless'} URL",
                                  "an https:// URL (alerts must not travel in clear text)")

    thresholds = AlertThresholds(
        error_rate_percent=r.number("alertErrorRatePercent", 5.0, 0.1, 100.0),
        min_requests=r.integer("alertMinRequests", 20, 1, 1_000_000),
        face_403_count=r.integer("alertFace403Count", 10, 1, 1_000_000),
        throttled_count=r.integer("alertThrottledCount", 100, 1, 1_000_000),
        restart_count=r.integer("alertRestartCount", 3, 1, 1000),
        certificate_days=r.integer("alertCertificateDays", 14, 1, 365),
        window_minutes=r.integer("alertWindowMinutes", 15, min(ALERT_WINDOW_MINUTES), max(ALERT_WINDOW_MINUTES)),
    )
    if thresholds.window_minutes not in ALERT_WINDOW_MINUTES:
        raise ConfigError(r.full("alertWindowMinutes"), thresholds.window_minutes,
                          f"one of {', '.join(map(str, ALERT_WINDOW_MINUTES))} (windows every alert type accepts)")
    if not enabled:
        for key in ("alertEmails", "alertWebhookUrl"):
            if r.raw.get(key) not in (None, "", [], "[]"):
                raise ConfigError(r.full(key), "a value", f"unset while {r.full('monitoringEnabled')} is false "
                                  "(nothing would send to it); set monitoringEnabled true")
    return MonitoringSettings(
        enabled=enabled,
        alert_emails=emails,
        alert_webhook_configured=webhook is not None,
        thresholds=thresholds,
        certificate_check=r.boolean("monitoringCertificateCheck", True),
    )
