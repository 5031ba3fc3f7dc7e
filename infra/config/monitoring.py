"""The Monitoring group of the stack configuration: validated into MonitoringSettings.

The alert windows and thresholds type belong to components/monitoring_queries.py; the keys'
defaults and bounds are declared in infra/config/schema.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlsplit

from components.monitoring_queries import ALERT_WINDOW_MINUTES, AlertThresholds
from infra.config.reader import Reader
from infra.errors import ConfigError
from infra.stackfiles.document import SECRET_PLACEHOLDER

MAX_ALERT_EMAILS = 10

_EMAIL = re.compile(r"^[^@\s,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class MonitoringSettings:
    enabled: bool
    alert_emails: tuple[str, ...]
    alert_webhook_configured: bool  # the URL itself is read as a Pulumi secret by the program
    thresholds: AlertThresholds
    certificate_check: bool


def parse_monitoring(r: Reader, prod: bool, webhook_is_secret: Optional[bool]) -> MonitoringSettings:
    """`webhook_is_secret`: whether the runtime holds `alertWebhookUrl` as a secret (None: unknown).
    An encrypted value read offline is SECRET_PLACEHOLDER, which is not checked as a URL."""
    enabled = r.boolean("monitoringEnabled", prod=prod)
    emails = r.string_list("alertEmails")
    for address in emails:
        if not _EMAIL.match(address):
            raise ConfigError(r.full("alertEmails"), address, "e-mail addresses such as oncall@contoso.com")
    if len(set(a.lower() for a in emails)) != len(emails):
        raise ConfigError(r.full("alertEmails"), list(emails), "each address once")
    if len(emails) > MAX_ALERT_EMAILS:
        raise ConfigError(r.full("alertEmails"), f"{len(emails)} addresses",
                          f"at most {MAX_ALERT_EMAILS} (use a distribution list)")

    webhook = r.string("alertWebhookUrl")
    if webhook is not None:
        if webhook_is_secret is False:
            raise ConfigError(r.full("alertWebhookUrl"), "a plain-text value",
                              "a secret: pulumi config set --secret liveness:alertWebhookUrl <url>")
        if webhook != SECRET_PLACEHOLDER:
            parts = urlsplit(webhook)
            if parts.scheme != "https" or not parts.hostname:
                # Never echo the URL: it may carry a token.
                raise ConfigError(r.full("alertWebhookUrl"), f"a {parts.scheme or 'schemeless'} URL",
                                  "an https:// URL (alerts must not travel in clear text)")

    thresholds = AlertThresholds(
        error_rate_percent=r.number("alertErrorRatePercent"),
        min_requests=r.integer("alertMinRequests"),
        face_403_count=r.integer("alertFace403Count"),
        throttled_count=r.integer("alertThrottledCount"),
        restart_count=r.integer("alertRestartCount"),
        certificate_days=r.integer("alertCertificateDays"),
        window_minutes=r.integer("alertWindowMinutes"),
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
        certificate_check=r.boolean("monitoringCertificateCheck"),
    )
