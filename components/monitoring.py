"""ProxyMonitoring: saved searches, a workbook and alerts over the liveness proxy.

Declares, in the stack's resource group:
- Log Analytics saved searches over the proxy's JSON access log (components/monitoring_queries.py),
  plus a workspace function `LivenessProxyAccessLog` with the parsed columns;
- an Azure Monitor workbook charting the same queries;
- scheduled-query alerts (5xx rate, Face 403 surge, 429 surge) on the workspace and a metric alert
  on the app's replica restarts (`RestartCount`, Microsoft.App/containerApps);
- the certificate check: an Application Insights standard availability test against
  `https://<proxy host>/` that expects the proxy's own 404 body and fails when the served
  certificate is invalid or has fewer than `certificate_days` left, with a metric alert on it;
- an action group to the configured e-mail addresses and/or webhook, on every alert.
"""

# No `from __future__ import annotations`: the component provider reads these annotations as types.
import dataclasses
from dataclasses import dataclass, field
from typing import NotRequired, Optional, TypedDict

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from components import monitoring_queries as mq
from components.args_errors import ComponentArgsError
from components.package import type_token
from components.proxy_routes import REFUSED_ROUTE_BODY

# Standard-test agent locations (West Europe, North Europe, East US), ids from Microsoft's list in
# "Application Insights availability tests" (learn.microsoft.com/azure/azure-monitor/app/availability).
DEFAULT_TEST_LOCATIONS: tuple[str, ...] = ("emea-nl-ams-azr", "emea-gb-db3-azr", "us-va-ash-azr")
RESTART_METRIC = "RestartCount"
RESTART_AGGREGATION = "Maximum"  # the counter is cumulative per replica (podName): count each restart once
RESTART_METRIC_NAMESPACE = "Microsoft.App/containerApps"


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
    """Replica restarts in the window; default 3."""
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
    _resolve(args).validate()


def _resolve(args: ProxyMonitoringArgs) -> "_Resolved":
    for key in ("resource_group_name", "location", "name_prefix", "workspace_name", "workspace_id",
                "container_app_name", "container_app_id", "proxy_host"):
        if args.get(key) is None:
            raise ComponentArgsError("ProxyMonitoringArgs", key, None, "a value (required)")
    known = {f.name for f in dataclasses.fields(mq.AlertThresholds)}
    thresholds = dict(args.get("thresholds") or {})
    unknown = sorted(set(thresholds) - known)
    if unknown:
        raise ComponentArgsError("ProxyMonitoringArgs", "thresholds", unknown, "only " + ", ".join(sorted(known)))
    values = {k: v for k, v in args.items() if k != "thresholds"}
    for key in ("alert_emails", "test_locations"):
        if key in values:
            values[key] = tuple(values[key])
    return _Resolved(thresholds=mq.AlertThresholds(**thresholds), **values)


@dataclass(frozen=True)
class _Resolved:
    """ProxyMonitoringArgs with the defaults applied."""

    resource_group_name: pulumi.Input[str]
    location: str
    name_prefix: str  # Azure names are `<name_prefix>-<what>`
    workspace_name: pulumi.Input[str]
    workspace_id: pulumi.Input[str]  # ARM id of the Log Analytics workspace
    container_app_name: str  # the proxy app (ContainerAppName_s in the console log table)
    container_app_id: pulumi.Input[str]
    proxy_host: str  # public hostname: the certificate check runs against https://<proxy_host>/
    thresholds: mq.AlertThresholds = field(default_factory=mq.AlertThresholds)
    alert_emails: tuple[str, ...] = ()
    alert_webhook_url: Optional[pulumi.Input[str]] = None  # a secret: it may carry a token
    certificate_check: bool = True
    test_locations: tuple[str, ...] = DEFAULT_TEST_LOCATIONS
    alerts_enabled: bool = True
    tags: dict[str, str] = field(default_factory=dict)

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


def _duration(minutes: int) -> str:
    return f"PT{minutes}M" if minutes < 60 else f"PT{minutes // 60}H" if minutes % 60 == 0 else f"PT{minutes}M"


class ProxyMonitoring(pulumi.ComponentResource):
    """Saved searches, workbook, alerts and action group for one liveness proxy."""

    workbook_id: pulumi.Output[str]
    """ARM id of the workbook."""

    def __init__(self, name: str, args: ProxyMonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("monitoring", "ProxyMonitoring"), name, None, opts)
        args = _resolve(args)
        args.validate()
        self._name, self._args = name, args
        child = pulumi.ResourceOptions(parent=self)
        t = args.thresholds

        self.saved_searches = self._saved_searches(child)
        # Every query below reads the access log through the workspace function saved first.
        after_function = pulumi.ResourceOptions(parent=self, depends_on=[self.saved_searches[0]])
        queries = mq.saved_queries()
        title = f"Liveness proxy {args.proxy_host}"
        self.workbook = applicationinsights.Workbook(
            f"{name}-workbook",
            resource_group_name=args.resource_group_name,
            resource_name_=mq.workbook_name(f"{args.name_prefix}/{args.container_app_name}"),
            location=args.location,
            kind="shared",
            category="workbook",
            display_name=title,
            source_id=pulumi.Output.from_input(args.workspace_id).apply(str.lower),
            serialized_data=pulumi.Output.from_input(args.workspace_id).apply(
                lambda ws_id: mq.workbook_json(queries, ws_id, title)),
            tags=args.tags,
            opts=after_function,
        )

        self.action_group = self._action_group(child)
        actions = [self.action_group.id] if self.action_group else []

        self.query_alerts = [
            monitor.ScheduledQueryRule(
                f"{name}-{alert.key}",
                resource_group_name=args.resource_group_name,
                rule_name=f"{args.name_prefix}-{alert.key}",
                location=args.location,
                kind="LogAlert",
                display_name=alert.title,
                description=alert.description,
                severity=alert.severity,
                enabled=args.alerts_enabled,
                scopes=[args.workspace_id],
                evaluation_frequency=_duration(t.frequency_minutes),
                window_size=_duration(t.window_minutes),
                # The console table exists only after the first line is logged: a fresh
                # workspace would fail validation of an otherwise correct query.
                skip_query_validation=True,
                auto_mitigate=True,
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                    query=alert.query,
                    time_aggregation=alert.time_aggregation,
                    metric_measure_column=alert.measure_column,
                    operator=alert.operator,
                    threshold=alert.threshold,
                    failing_periods=monitor.ConditionFailingPeriodsArgs(
                        number_of_evaluation_periods=1, min_failing_periods_to_alert=1),
                )]),
                actions=monitor.ActionsArgs(action_groups=actions),
                tags=args.tags,
                opts=after_function,
            )
            for alert in mq.alert_queries(t)
        ]

        self.restart_alert = monitor.MetricAlert(
            f"{name}-replica-restarts",
            resource_group_name=args.resource_group_name,
            rule_name=f"{args.name_prefix}-replica-restarts",
            location="global",
            description=(f"At least {t.restart_count} replica restarts in {t.window_minutes} minutes: the proxy "
                         "crashes or fails its liveness probe (see ContainerAppSystemLogs_CL)."),
            severity=2,
            enabled=args.alerts_enabled,
            scopes=[args.container_app_id],
            evaluation_frequency=_duration(t.frequency_minutes),
            window_size=_duration(t.window_minutes),
            target_resource_type=RESTART_METRIC_NAMESPACE,
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[monitor.MetricCriteriaArgs(
                    criterion_type="StaticThresholdCriterion",
                    name="restarts",
                    metric_name=RESTART_METRIC,
                    metric_namespace=RESTART_METRIC_NAMESPACE,
                    operator="GreaterThanOrEqual",
                    threshold=t.restart_count,
                    # RestartCount is the replica's restart counter sampled each minute, not the
                    # restarts within that minute: Total would add one restart once per sample.
                    time_aggregation=RESTART_AGGREGATION,
                )],
            ),
            actions=[monitor.MetricAlertActionArgs(action_group_id=a) for a in actions],
            auto_mitigate=True,
            tags=args.tags,
            opts=child,
        )

        self.insights: Optional[applicationinsights.Component] = None
        self.certificate_test: Optional[applicationinsights.WebTest] = None
        self.certificate_alert: Optional[monitor.MetricAlert] = None
        if args.certificate_check:
            self._certificate_check(child, actions)

        self.workbook_id = self.workbook.id
        self.register_outputs({
            "workbookId": self.workbook_id,
            "actionGroupId": self.action_group.id if self.action_group else None,
        })

    def _saved_searches(self, child: pulumi.ResourceOptions) -> list[operationalinsights.SavedSearch]:
        args, name = self._args, self._name
        searches = [operationalinsights.SavedSearch(
            f"{name}-fn-access-log",
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            saved_search_id=f"{args.name_prefix}-access-log-function",
            category=mq.SAVED_SEARCH_CATEGORY,
            display_name="Liveness proxy access log (function)",
            function_alias=mq.FUNCTION_ALIAS,
            query=mq.access_log_base(args.container_app_name),
            opts=child,
        )]
        for q in mq.saved_queries():
            searches.append(operationalinsights.SavedSearch(
                f"{name}-search-{q.key}",
                resource_group_name=args.resource_group_name,
                workspace_name=args.workspace_name,
                saved_search_id=f"{args.name_prefix}-{q.key}",
                category=mq.SAVED_SEARCH_CATEGORY,
                display_name=q.title,
                query=q.query,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[searches[0]]),
            ))
        return searches

    def _action_group(self, child: pulumi.ResourceOptions) -> Optional[monitor.ActionGroup]:
        """An action group when someone is to be told; without receivers alerts still show in the portal."""
        args = self._args
        if not args.alert_emails and args.alert_webhook_url is None:
            return None
        webhooks = None
        if args.alert_webhook_url is not None:
            webhooks = [monitor.WebhookReceiverArgs(
                name="webhook", service_uri=pulumi.Output.secret(args.alert_webhook_url), use_common_alert_schema=True)]
        return monitor.ActionGroup(
            f"{self._name}-action-group",
            resource_group_name=args.resource_group_name,
            action_group_name=f"{args.name_prefix}-proxy-alerts",
            group_short_name="liveness",  # at most 12 characters, shown in e-mails and SMS
            location="Global",
            enabled=True,
            email_receivers=[monitor.MicrosoftCommonEmailReceiverArgs(
                name=f"email-{i}", email_address=address, use_common_alert_schema=True)
                for i, address in enumerate(args.alert_emails, start=1)] or None,
            webhook_receivers=webhooks,
            tags=args.tags,
            opts=child,
        )

    def _certificate_check(self, child: pulumi.ResourceOptions, actions: list) -> None:
        """Certificate near expiry, watched from outside: managed certificates renew themselves and
        expose no expiry metric, so an availability test checks what clients are actually served."""
        args, name, t = self._args, self._name, self._args.thresholds
        self.insights = applicationinsights.Component(
            f"{name}-insights",
            resource_group_name=args.resource_group_name,
            resource_name_=f"{args.name_prefix}-proxy-insights",
            location=args.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=args.workspace_id,
            tags=args.tags,
            opts=child,
        )
        test_name = f"{args.name_prefix}-proxy-certificate"
        hidden_link = self.insights.id.apply(lambda cid: {f"hidden-link:{cid}": "Resource", **args.tags})
        self.certificate_test = applicationinsights.WebTest(
            f"{name}-certificate-test",
            resource_group_name=args.resource_group_name,
            web_test_name=test_name,
            synthetic_monitor_id=test_name,
            location=args.location,
            kind="standard",
            web_test_kind="standard",
            description=(f"GET https://{args.proxy_host}/ must return the proxy's own 404 over a valid certificate "
                         f"with at least {t.certificate_days} days left."),
            enabled=True,
            frequency=300,
            timeout=30,
            retry_enabled=True,
            locations=[applicationinsights.WebTestGeolocationArgs(location=loc) for loc in args.test_locations],
            request=applicationinsights.WebTestPropertiesRequestArgs(
                request_url=f"https://{args.proxy_host}/", http_verb="GET", follow_redirects=False,
                parse_dependent_requests=False),
            validation_rules=applicationinsights.WebTestPropertiesValidationRulesArgs(
                expected_http_status_code=404,
                s_sl_check=True,
                s_sl_cert_remaining_lifetime_check=t.certificate_days,
                content_validation=applicationinsights.WebTestPropertiesValidationRulesContentValidationArgs(
                    content_match=REFUSED_ROUTE_BODY.strip(), ignore_case=False, pass_if_text_found=True),
            ),
            tags=hidden_link,
            opts=child,
        )
        failed = max(1, len(args.test_locations) - 1)
        self.certificate_alert = monitor.MetricAlert(
            f"{name}-certificate",
            resource_group_name=args.resource_group_name,
            rule_name=f"{args.name_prefix}-proxy-certificate",
            location="global",
            description=(f"The certificate check on https://{args.proxy_host}/ fails from {failed} or more locations: "
                         f"certificate invalid or fewer than {t.certificate_days} days left, or the proxy unreachable."),
            severity=1,
            enabled=args.alerts_enabled,
            scopes=[self.certificate_test.id, self.insights.id],
            evaluation_frequency="PT5M",
            window_size="PT15M",
            criteria=monitor.WebtestLocationAvailabilityCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria",
                web_test_id=self.certificate_test.id,
                component_id=self.insights.id,
                failed_location_count=failed,
            ),
            actions=[monitor.MetricAlertActionArgs(action_group_id=a) for a in actions],
            auto_mitigate=True,
            tags=args.tags,
            opts=child,
        )
