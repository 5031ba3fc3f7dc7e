"""Monitoring as code: the KQL against the proxy's log format, the workbook JSON, and the
resources the program declares under the mock runtime, per config."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from tests.shipped_stacks import SHIPPED_STACKS

from components import monitoring_queries as mq
from components.monitoring import iso_duration
from components.monitoring_args import ProxyMonitoringArgs, validate_args
from components.proxy_config import render_nginx_config
from components.proxy_routes import LIVENESS_ROUTES
from components.proxy_settings import ProxySettings
from infra.stackfiles.document import SECRET_PLACEHOLDER
from infra.errors import ConfigError
from tests.unit.conftest import evaluate, stack_evaluation

T_SEARCH = "azure-native:operationalinsights:SavedSearch"
T_WORKBOOK = "azure-native:applicationinsights:Workbook"
T_RULE = "azure-native:monitor:ScheduledQueryRule"
T_METRIC = "azure-native:monitor:MetricAlert"
T_ACTION = "azure-native:monitor:ActionGroup"
T_WEBTEST = "azure-native:applicationinsights:WebTest"
T_INSIGHTS = "azure-native:applicationinsights:Component"
MONITORING_TYPES = (T_SEARCH, T_WORKBOOK, T_RULE, T_METRIC, T_ACTION, T_WEBTEST, T_INSIGHTS)
APP = "fl-unit-proxy"
ON = {"liveness:monitoringEnabled": True}


def rendered_log_fields() -> set[str]:
    """The JSON keys of the `log_format` line nginx actually gets."""
    conf = render_nginx_config(ProxySettings(face_host="acct.cognitiveservices.azure.com", upstream_address="10.40.2.30"))
    (line,) = [ln for ln in conf.splitlines() if "log_format liveness_json" in ln]
    fmt = line.split("'", 1)[1].rsplit("'", 1)[0]
    return set(re.findall(r'"([a-z_]+)":', fmt))


def every_query() -> dict[str, str]:
    """Every query as the workspace runs it (the function replaced by its body)."""
    queries = {f"saved:{q.key}": q.query for q in mq.saved_queries()}
    queries.update({f"alert:{a.key}": a.query for a in mq.alert_queries(mq.AlertThresholds())})
    queries.update({f"summary:{k}": q for k, q in mq.summary_queries(APP).items()})
    queries["function"] = mq.access_log_base(APP)
    return {name: mq.expand(q, APP) for name, q in queries.items()}


# --- queries and workbook (pure) ---------------------------------------------------------------


def test_queries_read_only_fields_the_log_format_has():
    fields = rendered_log_fields()
    assert {"status", "target", "client_ip", "upstream_status", "rate_limit"} <= fields
    used_anywhere: set[str] = set()
    for name, query in every_query().items():
        used = mq.fields_used(query)
        assert used, f"{name} reads no access-log field"
        assert used <= fields, f"{name} reads fields the proxy does not log: {sorted(used - fields)}"
        used_anywhere |= used
    assert {"status", "request_time", "upstream_response_time", "rate_limit"} <= used_anywhere


def test_field_cross_check_catches_a_renamed_field():
    query = mq.access_log_base(APP).replace("entry.rate_limit", "entry.limit_status")
    assert not mq.fields_used(query) <= rendered_log_fields()


def test_queries_read_the_console_table_of_this_app_only():
    for name, query in every_query().items():
        assert query.startswith(f'ContainerAppConsoleLogs_CL\n| where ContainerAppName_s == "{APP}"'), name
        assert "parse_json(Log_s)" in query


def test_saved_and_alert_queries_read_the_function_and_summary_queries_inline_it():
    for q in mq.saved_queries():
        assert q.query.startswith(mq.FUNCTION_ALIAS + "\n| ")
    for a in mq.alert_queries(mq.AlertThresholds()):
        assert a.query.startswith(mq.FUNCTION_ALIAS + "\n| ")
    for text in mq.summary_queries(APP).values():
        assert mq.FUNCTION_ALIAS not in text and text.startswith(mq.access_log_base(APP) + "\n| ")


def test_kql_route_patterns_agree_with_the_python_labels():
    for label, pattern in mq.route_patterns():
        assert any(r.endswith(label) for r in LIVENESS_ROUTES)
        for version in ("v1.2", "v1.3-preview.1"):
            path = f"/face/{version}/{label}"
            assert re.match(pattern, path) and mq.route_of(path + "?x=1") == label
        assert not re.match(pattern, f"/face/v1.2/{label}/extra")
    assert mq.route_of("/face/v1.2/detect") == mq.OTHER_ROUTE
    # The KQL carries each pattern verbatim (@"..."), backslashes unchanged.
    base = mq.access_log_base(APP)
    for _label, pattern in mq.route_patterns():
        assert f'@"{pattern}"' in base


def test_app_name_is_checked_before_it_reaches_kql():
    with pytest.raises(ValueError):
        mq.access_log_base('x" or 1==1 //')


def test_workbook_parses_and_charts_every_saved_query():
    queries = mq.saved_queries()
    workspace = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w"
    data = json.loads(mq.workbook_json(queries, workspace, "title"))
    assert data["version"] == "Notebook/1.0" and data["fallbackResourceIds"] == [workspace]
    charts = {item["name"]: item["content"] for item in data["items"] if item["type"] == 3}
    assert set(charts) == {q.key for q in queries}
    for q in queries:
        assert charts[q.key]["query"] == q.query
        assert charts[q.key]["timeContextFromParameter"] == "TimeRange"
    (params,) = [i for i in data["items"] if i["type"] == 9]
    assert params["content"]["parameters"][0]["name"] == "TimeRange"


def test_alert_conditions_follow_thresholds():
    t = mq.AlertThresholds(error_rate_percent=2.5, min_requests=50, face_403_count=3, throttled_count=40)
    alerts = {a.key: a for a in mq.alert_queries(t)}
    rate = alerts["proxy-5xx-rate"]
    assert rate.threshold == 2.5 and rate.measure_column == "error_rate" and "total >= 50" in rate.query
    assert alerts["face-403-surge"].threshold == 3 and "from_face" in alerts["face-403-surge"].query
    assert alerts["throttled-429-surge"].threshold == 40


def test_component_args_refuse_nonsense():
    args = ProxyMonitoringArgs(resource_group_name="rg", location="westeurope", name_prefix="fl", workspace_name="w",
                               workspace_id="/w", container_app_name=APP, container_app_id="/a", proxy_host="h.example.com",
                               thresholds=dict(error_rate_percent=0, window_minutes=1))
    with pytest.raises(ValueError, match="error_rate_percent.*window_minutes"):
        validate_args(args)


def test_alert_windows_are_ones_every_alert_type_accepts():
    metric_windows = {"PT1M", "PT5M", "PT15M", "PT30M", "PT1H", "PT6H", "PT12H", "P1D"}  # metricAlerts REST spec
    assert mq.ALERT_WINDOW_MINUTES == (5, 15, 30, 60)
    for minutes in mq.ALERT_WINDOW_MINUTES:
        assert iso_duration(minutes) in metric_windows and minutes >= mq.ALERT_FREQUENCY_MINUTES
    assert iso_duration(10) not in metric_windows and iso_duration(45) not in metric_windows


@pytest.mark.parametrize("window", [10, 45])
def test_component_args_refuse_a_window_a_metric_alert_refuses(window):
    args = ProxyMonitoringArgs(resource_group_name="rg", location="westeurope", name_prefix="fl", workspace_name="w",
                               workspace_id="/w", container_app_name=APP, container_app_id="/a", proxy_host="h.example.com",
                               thresholds=dict(window_minutes=window))
    with pytest.raises(ValueError, match=f"window_minutes: received {window}; expected one of 5, 15, 30, 60"):
        validate_args(args)


def test_alert_queries_keep_time_generated_for_the_rule():
    """A log alert with a measure column aggregates by bin(TimeGenerated, …) itself
    (learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule): each of the
    program's alert queries keeps TimeGenerated, read from the prod plan the mock runtime renders."""
    ev = stack_evaluation("prod")
    declared = [r.inputs for r in ev.by_type(T_RULE)]
    assert len(declared) == 3
    by_query = {a.query: a for a in mq.alert_queries(ev.settings.monitoring.thresholds)}
    for rule in declared:
        (condition,) = rule["criteria"]["allOf"]
        alert = by_query[condition["query"]]
        assert condition.get("metricMeasureColumn") == alert.measure_column
        assert mq.alert_query_problems(alert) == [], alert.key
    rate = next(a for a in by_query.values() if a.measure_column)
    assert "by bin(TimeGenerated, 15m)" in rate.query


def test_alert_query_checker_reports_a_summarize_without_a_time_bin():
    rate = next(a for a in mq.alert_queries(mq.AlertThresholds()) if a.key == "proxy-5xx-rate")
    unbinned = dataclasses.replace(rate, query=re.sub(r" by bin\(TimeGenerated, \d+m\)", "", rate.query))
    assert unbinned.query != rate.query
    (problem,) = mq.alert_query_problems(unbinned)
    assert "proxy-5xx-rate" in problem and "does not bin TimeGenerated" in problem
    count = next(a for a in mq.alert_queries(mq.AlertThresholds()) if a.measure_column is None)
    summarized = dataclasses.replace(count, query=count.query + "\n| summarize n = count()")
    assert mq.alert_query_problems(summarized) and not mq.alert_query_problems(count)


# --- the program under the mock runtime --------------------------------------------------------


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_monitoring_follows_the_lifecycle(stack):
    ev = stack_evaluation(stack)
    present = any(r.type in MONITORING_TYPES for r in ev.resources)
    assert present is (ev.settings.lifecycle == "prod"), stack
    assert [f for f in ev.findings if f.invariant != "app-server-path"] == []  # that warning: test_program.py
    assert ev.outputs["proxyAppName"] == f"{ev.settings.name_prefix}-proxy"
    assert re.fullmatch(r"[0-9a-f-]{36}", ev.outputs["logAnalyticsWorkspaceId"])


def test_prod_monitoring_resources_and_their_inputs():
    ev = stack_evaluation("prod")
    workspace_id = ev.one("azure-native:operationalinsights:Workspace")
    app_name = ev.outputs["proxyAppName"]
    group = ev.one(T_ACTION).inputs
    assert [r["emailAddress"] for r in group["emailReceivers"]] == ["liveness-oncall@contoso.com"]
    assert group["location"] == "Global" and "webhookReceivers" not in group
    group_id = ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-fl-prod/providers/"
                "Microsoft.Insights/actionGroups/fl-prod-proxy-alerts")
    rules = {r.inputs["ruleName"]: r.inputs for r in ev.by_type(T_RULE)}
    assert set(rules) == {f"fl-prod-{k}" for k in ("proxy-5xx-rate", "face-403-surge", "throttled-429-surge")}
    for rule in rules.values():
        assert rule["kind"] == "LogAlert" and rule["skipQueryValidation"] is True
        assert rule["scopes"][0].endswith("/Microsoft.OperationalInsights/workspaces/fl-prod-logs")
        assert rule["evaluationFrequency"] == "PT5M" and rule["windowSize"] == "PT15M"
        (condition,) = rule["criteria"]["allOf"]
        assert condition["query"].startswith(mq.FUNCTION_ALIAS)
        assert rule["actions"]["actionGroups"] == [group_id]
    assert rules["fl-prod-proxy-5xx-rate"]["criteria"]["allOf"][0]["threshold"] == 5

    restarts = ev.named("monitoring-replica-restarts").inputs
    (criterion,) = restarts["criteria"]["allOf"]
    # RestartCount is cumulative per replica: Maximum counts each restart once, Total once per sample.
    assert criterion["metricName"] == "RestartCount" and criterion["timeAggregation"] == "Maximum"
    assert restarts["scopes"][0].endswith("/Microsoft.App/containerApps/fl-prod-proxy")

    test = ev.one(T_WEBTEST).inputs
    assert test["request"]["requestUrl"] == "https://liveness.contoso.com/"
    rules_v = test["validationRules"]
    assert rules_v["sSLCheck"] is True and rules_v["sSLCertRemainingLifetimeCheck"] == 14
    assert rules_v["expectedHttpStatusCode"] == 404
    assert any(k.startswith("hidden-link:") and k.endswith("/components/fl-prod-proxy-insights") for k in test["tags"])
    cert_alert = ev.named("monitoring-certificate").inputs
    assert cert_alert["criteria"]["odataType"] == "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria"
    assert ev.one(T_INSIGHTS).inputs["workspaceResourceId"] == rules["fl-prod-proxy-5xx-rate"]["scopes"][0]

    searches = {s.inputs["savedSearchId"]: s.inputs for s in ev.by_type(T_SEARCH)}
    function = searches["fl-prod-access-log-function"]
    assert function["functionAlias"] == mq.FUNCTION_ALIAS
    assert function["query"] == mq.access_log_base(app_name)
    workbook = ev.one(T_WORKBOOK).inputs
    data = json.loads(workbook["serializedData"])
    saved_texts = {s["query"] for s in searches.values()}
    charted = [i["content"]["query"] for i in data["items"] if i["type"] == 3]
    assert charted and all(q in saved_texts for q in charted)
    assert workbook["sourceId"] == workbook["sourceId"].lower() and workbook["kind"] == "shared"
    assert re.fullmatch(r"[0-9a-f-]{36}", workbook["resourceName"])
    assert ev.named("monitoring-certificate").inputs["actions"] == [{"actionGroupId": group_id}]
    assert ev.outputs["monitoringWorkbookId"].endswith("/workbooks/" + workbook["resourceName"])
    assert workspace_id.inputs["workspaceName"] == "fl-prod-logs"


def test_dev_gets_monitoring_when_asked_with_receivers_and_thresholds():
    ev = evaluate({**ON, "liveness:alertEmails": ["oncall@contoso.com", "team@contoso.com"],
                   "liveness:alertWebhookUrl": "https://hooks.example.com/T0k3n", "liveness:alertFace403Count": 3,
                   "liveness:alertWindowMinutes": 30, "liveness:monitoringCertificateCheck": False},
                  secret_keys=("liveness:alertWebhookUrl",))
    group = ev.one(T_ACTION)
    emails = [r["emailAddress"] for r in group.inputs["emailReceivers"]]
    assert emails == ["oncall@contoso.com", "team@contoso.com"]
    # The receiver carries the secret URL, so the whole list travels as a secret.
    assert group.inputs["webhookReceivers"] == "[secret]"
    assert "T0k3n" not in json.dumps([r.inputs for r in ev.resources])
    for rule in ev.by_type(T_RULE):
        assert rule.inputs["actions"]["actionGroups"] == ["/subscriptions/00000000-0000-0000-0000-000000000000/"
                                                          "resourceGroups/rg-fl-unit/providers/Microsoft.Insights/"
                                                          "actionGroups/fl-unit-proxy-alerts"]
        assert rule.inputs["windowSize"] == "PT30M"
    face = ev.named("monitoring-face-403-surge").inputs["criteria"]["allOf"][0]
    assert face["threshold"] == 3 and face["operator"] == "GreaterThanOrEqual"
    assert ev.by_type(T_WEBTEST) == [] and ev.by_type(T_INSIGHTS) == []
    assert ev.named("monitoring-replica-restarts").inputs["actions"][0]["actionGroupId"].endswith("/fl-unit-proxy-alerts")


def test_staging_without_receivers_still_gets_alerts_but_no_action_group():
    ev = stack_evaluation("staging")
    assert ev.by_type(T_ACTION) == [] and len(ev.by_type(T_RULE)) == 3
    assert all(r.inputs["actions"]["actionGroups"] == [] for r in ev.by_type(T_RULE))


def test_an_encrypted_webhook_in_a_stack_file_evaluates_offline():
    """Offline, a `secure:` value is a placeholder: it is not checked as a URL, and stays secret."""
    ev = evaluate({**ON, "liveness:alertWebhookUrl": SECRET_PLACEHOLDER},
                  secret_keys=("liveness:alertWebhookUrl",))
    assert ev.one(T_ACTION).inputs["webhookReceivers"] == "[secret]"
    assert ev.findings == []


def test_dev_has_no_monitoring_by_default():
    ev = evaluate()
    assert not [r for r in ev.resources if r.type in MONITORING_TYPES]
    assert "monitoringWorkbookId" not in ev.outputs


@pytest.mark.parametrize("overrides, secrets, key, expected", [
    ({**ON, "liveness:alertEmails": ["not-an-address"]}, (), "alertEmails", "e-mail addresses"),
    ({**ON, "liveness:alertEmails": ["a@b.com", "A@b.com"]}, (), "alertEmails", "each address once"),
    ({**ON, "liveness:alertWebhookUrl": "https://hooks.example.com/x"}, (), "alertWebhookUrl", "a secret"),
    ({**ON, "liveness:alertWebhookUrl": "http://hooks.example.com/secret-token"}, ("liveness:alertWebhookUrl",),
     "alertWebhookUrl", "https://"),
    ({**ON, "liveness:alertWindowMinutes": 20}, (), "alertWindowMinutes", "one of 5, 15, 30, 60"),
    # A metric alert refuses windowSize PT10M and PT45M: refused here, not by Azure at `up`.
    ({**ON, "liveness:alertWindowMinutes": 10}, (), "alertWindowMinutes", "one of 5, 15, 30, 60"),
    ({**ON, "liveness:alertWindowMinutes": 45}, (), "alertWindowMinutes", "one of 5, 15, 30, 60"),
    ({**ON, "liveness:alertErrorRatePercent": 0}, (), "alertErrorRatePercent", "a number from"),
    ({"liveness:monitoringEnabled": False, "liveness:alertEmails": ["a@b.com"]}, (), "alertEmails", "unset while"),
])
def test_bad_monitoring_config_names_the_key(overrides, secrets, key, expected):
    with pytest.raises(ConfigError) as info:
        evaluate(overrides, secret_keys=secrets)
    message = str(info.value)
    assert f"liveness:{key}" in message and expected in message and len(message) < 300
    assert "secret-token" not in message  # a webhook URL is never echoed
