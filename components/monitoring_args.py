"""ProxyMonitoring's contract: its Args, the same Args with every default applied, and the checks.

components/monitoring.py declares the resources from a :class:`ResolvedMonitoring`; the checks run
before anything is declared and name each field received and what was expected.
"""

# No `from __future__ import annotations`: the component provider reads these annotations as types.
import dataclasses
from dataclasses import dataclass
from typing import NotRequired, Optional, TypedDict

import pulumi

from components import monitoring_queries as mq
from components.args_errors import ComponentArgsError

# Standard-test agent locations (West Europe, North Europe, East US), ids from Microsoft's list in
# "Application Insights availability tests" (learn.microsoft.com/azure/azure-monitor/app/availability).
DEFAULT_TEST_LOCATIONS: tuple[str, ...] = ("emea-nl-ams-azr", "emea-gb-db3-azr", "us-va-ash-azr")


class AlertThresholdsArgs(TypedDict, total=False):
    """What makes each alert fire (components/monitoring_queries.py AlertThresholds); every field optional."""

    error_rate_percent: float
    """5xx share of requests that fires the rate alert; default 5."""
    min_requests: int
    """Below this many requests in the window the 5xx rate is not judged; default 20."""
    face_403_count: int
    """Face's own 403s in the window (registration broken or not routed); default 10."""
    throttled_count: int
    """429s in the window, the proxy's rate limit and Face's throttling together; default 100."""
    restart_count: int
    """Restarts of one replica since it started (RestartCount is a counter); default 3."""
    certificate_days: int
    """Fewer days of certificate validity left fails the check; default 14."""
    window_minutes: int
    """Window each alert looks back over; default 15."""
    frequency_minutes: int
    """How often each alert is evaluated; default 5."""


class ProxyMonitoringArgs(TypedDict):
    """ProxyMonitoring's contract. Optional fields default to the safe choice (alert early, check the certificate)."""

    resource_group_name: pulumi.Input[str]
    """Resource group of the searches, workbook, alerts and action group."""
    location: str
    """Azure region, e.g. westeurope."""
    name_prefix: str
    """Azure names are <name_prefix>-<what>."""
    workspace_name: pulumi.Input[str]
    """Name of the Log Analytics workspace the proxy logs to."""
    workspace_id: pulumi.Input[str]
    """ARM id of that workspace."""
    container_app_name: str
    """The proxy app's name (ContainerAppName_s in the console log table)."""
    container_app_id: pulumi.Input[str]
    """ARM id of the proxy app (restart alert scope)."""
    proxy_host: str
    """Public hostname: the certificate check runs against https://<proxy_host>/."""
    thresholds: NotRequired[AlertThresholdsArgs]
    """Alert thresholds; default AlertThresholds()."""
    alert_emails: NotRequired[list[str]]
    """Addresses the action group mails; default none."""
    alert_webhook_url: NotRequired[pulumi.Input[str]]
    """Webhook the action group calls (a secret: it may carry a token); default none."""
    certificate_check: NotRequired[bool]
    """Run the availability test that checks the served certificate; default true."""
    test_locations: NotRequired[list[str]]
    """Availability test locations; default West Europe, North Europe, East US."""
    alerts_enabled: NotRequired[bool]
    """Alerts enabled; default true."""
    tags: NotRequired[dict[str, str]]
    """Tags on every resource; default none."""


def validate_args(args: ProxyMonitoringArgs) -> None:
    """Received vs expected for every field, before anything is declared."""
    resolve(args).validate()


def resolve(args: ProxyMonitoringArgs) -> "ResolvedMonitoring":
    """The Args with every default applied (required fields checked first)."""
    for key in ("resource_group_name", "location", "name_prefix", "workspace_name", "workspace_id",
                "container_app_name", "container_app_id", "proxy_host"):
        if args.get(key) is None:
            raise ComponentArgsError("ProxyMonitoringArgs", key, None, "a value (required)")
    known = {f.name for f in dataclasses.fields(mq.AlertThresholds)}
    given = args.get("thresholds") or AlertThresholdsArgs()
    unknown = sorted(set(given) - known)
    if unknown:
        raise ComponentArgsError("ProxyMonitoringArgs", "thresholds", unknown, "only " + ", ".join(sorted(known)))
    # The TypedDict's keys are AlertThresholds' fields (checked above): mypy checks each value's type.
    thresholds = mq.AlertThresholds(**given)
    return ResolvedMonitoring(
        resource_group_name=args["resource_group_name"], location=args["location"], name_prefix=args["name_prefix"],
        workspace_name=args["workspace_name"], workspace_id=args["workspace_id"],
        container_app_name=args["container_app_name"], container_app_id=args["container_app_id"],
        proxy_host=args["proxy_host"], thresholds=thresholds,
        alert_emails=tuple(args.get("alert_emails", ())),
        alert_webhook_url=args.get("alert_webhook_url"),
        certificate_check=args.get("certificate_check", True),
        test_locations=tuple(args.get("test_locations", DEFAULT_TEST_LOCATIONS)),
        alerts_enabled=args.get("alerts_enabled", True),
        tags=args.get("tags", {}),
    )


@dataclass(frozen=True)
class ResolvedMonitoring:
    """ProxyMonitoringArgs with the defaults applied (resolve())."""

    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str  # Azure names are `<name_prefix>-<what>`
    workspace_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]  # ARM id of the Log Analytics workspace
    container_app_name: str  # the proxy app (ContainerAppName_s in the console log table)
    container_app_id: pulumi.Input[str]
    proxy_host: str  # public hostname: the certificate check runs against https://<proxy_host>/
    thresholds: mq.AlertThresholds
    alert_emails: tuple[str, ...]
    alert_webhook_url: Optional[pulumi.Input[str]]  # a secret: it may carry a token
    certificate_check: bool
    test_locations: tuple[str, ...]
    alerts_enabled: bool
    tags: dict[str, str]

    def validate(self) -> None:
        t = self.thresholds
        problems = []
        if not 0 < t.error_rate_percent <= 100:
            problems.append(f"thresholds.error_rate_percent: received {t.error_rate_percent!r}; expected 0 < x <= 100")
        for name in ("min_requests", "face_403_count", "throttled_count", "restart_count", "certificate_days"):
            if getattr(t, name) < 1:
                problems.append(f"thresholds.{name}: received {getattr(t, name)!r}; expected at least 1")
        if t.window_minutes not in mq.ALERT_WINDOW_MINUTES:
            problems.append(f"thresholds.window_minutes: received {t.window_minutes}; expected one of "
                            f"{', '.join(map(str, mq.ALERT_WINDOW_MINUTES))} (what every alert type accepts)")
        if t.frequency_minutes != mq.ALERT_FREQUENCY_MINUTES:
            problems.append(f"thresholds.frequency_minutes: received {t.frequency_minutes}; expected "
                            f"{mq.ALERT_FREQUENCY_MINUTES}")
        for alert in mq.alert_queries(t):
            problems.extend(mq.alert_query_problems(alert))
        if self.certificate_check and not self.test_locations:
            problems.append("test_locations: received (); expected at least one availability test location")
        if problems:
            raise ComponentArgsError.several("ProxyMonitoringArgs", problems)
