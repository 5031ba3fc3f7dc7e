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
from typing import Optional, Union

import pulumi
from pulumi_azure_native import applicationinsights, monitor, operationalinsights

from components import monitoring_queries as mq
from components.monitoring_args import ProxyMonitoringArgs, resolve
from components.package import type_token
from components.proxy_routes import REFUSED_ROUTE_BODY

RESTART_METRIC = "RestartCount"
RESTART_AGGREGATION = "Maximum"  # the counter is cumulative per replica (podName): count each restart once
RESTART_METRIC_NAMESPACE = "Microsoft.App/containerApps"


def iso_duration(minutes: int) -> str:
    return f"PT{minutes}M" if minutes < 60 else f"PT{minutes // 60}H" if minutes % 60 == 0 else f"PT{minutes}M"


class ProxyMonitoring(pulumi.ComponentResource):
    """Saved searches, workbook, alerts and action group for one liveness proxy."""

    workbook_id: pulumi.Output[str]
    """ARM id of the workbook."""

    def __init__(self, name: str, args: ProxyMonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(type_token("monitoring", "ProxyMonitoring"), name, None, opts)
        resolved = resolve(args)
        resolved.validate()
        self._name, self._args = name, resolved
        child = pulumi.ResourceOptions(parent=self)

        self.saved_searches = self._saved_searches(child)
        # Every query below reads the access log through the workspace function saved first.
        after_function = pulumi.ResourceOptions(parent=self, depends_on=[self.saved_searches[0]])
        self.workbook = self._workbook(after_function)
        self.action_group = self._action_group(child)
        actions = [self.action_group.id] if self.action_group else []
        self.query_alerts = [self._query_alert(alert, actions, after_function)
                             for alert in mq.alert_queries(resolved.thresholds)]
        self.restart_alert = self._restart_alert(child, actions)
        self.insights: Optional[applicationinsights.Component] = None
        self.certificate_test: Optional[applicationinsights.WebTest] = None
        self.certificate_alert: Optional[monitor.MetricAlert] = None
        if resolved.certificate_check:
            self._certificate_check(child, actions)

        self.workbook_id = self.workbook.id
        self.register_outputs({
            "workbookId": self.workbook_id,
            "actionGroupId": self.action_group.id if self.action_group else None,
        })

    def _workbook(self, opts: pulumi.ResourceOptions) -> applicationinsights.Workbook:
        """An Azure Monitor workbook charting the saved queries."""
        args = self._args
        queries = mq.saved_queries()
        title = f"Liveness proxy {args.proxy_host}"
        return applicationinsights.Workbook(
            f"{self._name}-workbook",
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
            opts=opts,
        )

    def _query_alert(self, alert: mq.AlertQuery, actions: list[pulumi.Output[str]],
                     opts: pulumi.ResourceOptions) -> monitor.ScheduledQueryRule:
        """A scheduled-query (log) alert on the workspace for one alert condition."""
        args, t = self._args, self._args.thresholds
        return monitor.ScheduledQueryRule(
            f"{self._name}-{alert.key}",
            resource_group_name=args.resource_group_name,
            rule_name=f"{args.name_prefix}-{alert.key}",
            location=args.location,
            kind="LogAlert",
            display_name=alert.title,
            description=alert.description,
            severity=alert.severity,
            enabled=args.alerts_enabled,
            scopes=[args.workspace_id],
            evaluation_frequency=iso_duration(t.frequency_minutes),
            window_size=iso_duration(t.window_minutes),
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
            opts=opts,
        )

    def _restart_alert(self, child: pulumi.ResourceOptions, actions: list[pulumi.Output[str]]) -> monitor.MetricAlert:
        """A replica's restart count (metric RestartCount, a counter since the replica started)."""
        args, t = self._args, self._args.thresholds
        return self._metric_alert(
            f"{self._name}-replica-restarts", "replica-restarts",
            description=(f"A replica has restarted at least {t.restart_count} times since it started (the count "
                         "stays until the replica is replaced): the proxy crashes or fails its liveness probe "
                         "(see ContainerAppSystemLogs_CL)."),
            severity=2,
            scopes=[args.container_app_id],
            evaluation_frequency=iso_duration(t.frequency_minutes),
            window_size=iso_duration(t.window_minutes),
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
            actions=actions,
            opts=child,
        )

    def _metric_alert(self, logical_name: str, rule: str, *, description: str, severity: int,
                      scopes: list[pulumi.Input[str]], evaluation_frequency: str, window_size: str,
                      criteria: Union[monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs,
                                      monitor.WebtestLocationAvailabilityCriteriaArgs],
                      actions: list[pulumi.Output[str]], opts: pulumi.ResourceOptions,
                      target_resource_type: Optional[str] = None) -> monitor.MetricAlert:
        """A global metric alert `<name_prefix>-<rule>` that tells the action group and resolves itself."""
        args = self._args
        return monitor.MetricAlert(
            logical_name,
            resource_group_name=args.resource_group_name,
            rule_name=f"{args.name_prefix}-{rule}",
            location="global",
            description=description,
            severity=severity,
            enabled=args.alerts_enabled,
            scopes=scopes,
            evaluation_frequency=evaluation_frequency,
            window_size=window_size,
            target_resource_type=target_resource_type,
            criteria=criteria,
            actions=[monitor.MetricAlertActionArgs(action_group_id=a) for a in actions],
            auto_mitigate=True,
            tags=args.tags,
            opts=opts,
        )

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

    def _certificate_check(self, child: pulumi.ResourceOptions, actions: list[pulumi.Output[str]]) -> None:
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
            kind=applicationinsights.WebTestKind.STANDARD,
            web_test_kind=applicationinsights.WebTestKind.STANDARD,
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
        self.certificate_alert = self._metric_alert(
            f"{name}-certificate", "proxy-certificate",
            description=(f"The certificate check on https://{args.proxy_host}/ fails from {failed} or more locations: "
                         f"certificate invalid or fewer than {t.certificate_days} days left, or the proxy unreachable."),
            severity=1,
            scopes=[self.certificate_test.id, self.insights.id],
            evaluation_frequency="PT5M",
            window_size="PT15M",
            criteria=monitor.WebtestLocationAvailabilityCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria",
                web_test_id=self.certificate_test.id,
                component_id=self.insights.id,
                failed_location_count=failed,
            ),
            actions=actions,
            opts=child,
        )
