"""Pure: the KQL over the proxy's JSON access log, the alert conditions and the workbook JSON.

Where the log lands. The environment ships container stdout to Log Analytics with the
`log-analytics` destination (components/proxy.py), which writes the custom table
`ContainerAppConsoleLogs_CL`: one row per line, the line itself in `Log_s`, the app in
`ContainerAppName_s`, the stream in `Stream_s` (Microsoft's own examples query
`ContainerAppConsoleLogs_CL | where ContainerAppName_s == '...' | project ContainerAppName_s, Log_s`;
learn.microsoft.com/azure/container-apps/log-monitoring, microsoft/azure-container-apps#185).
With the newer `azure-monitor` destination the table is `ContainerAppConsoleLogs` with a `Log`
column instead; `CONSOLE_TABLE`/`LINE_COLUMN` are the only places that know this.

Every query starts from :func:`access_log_base`, which parses the JSON line nginx writes with
the `liveness_json` log format (components/access_log.py `LOG_FORMAT_FIELDS`) and reads fields
only as `entry.<json key>`; a test cross-checks each such key against the rendered log format.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass
from typing import Optional

from components.proxy_routes import LIVENESS_ROUTES, VERSION_PATTERN

CONSOLE_TABLE = "ContainerAppConsoleLogs_CL"
APP_COLUMN = "ContainerAppName_s"
LINE_COLUMN = "Log_s"
SAVED_SEARCH_CATEGORY = "Liveness proxy"
FUNCTION_ALIAS = "LivenessProxyAccessLog"
OTHER_ROUTE = "other"
# nginx logs several upstream times ("0.010, 0.020" after a retry, "0.01 : 0.02" after an
# internal redirect); the last one is the attempt that answered.
LAST_NUMBER = r"([0-9.]+)\s*$"
_APP_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_FIELD_REF = re.compile(r"\bentry\.([A-Za-z_][A-Za-z0-9_]*)")

WORKBOOK_SCHEMA = "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json"
_WORKBOOK_NAMESPACE = uuid.UUID("6f1c7f0e-3c1b-4c55-9a57-2f4f1f0b7a11")


def route_name(route: str) -> str:
    """`/face/{version}/session/start` → `session/start` (the label used in charts and summaries)."""
    return route.split("{version}/", 1)[1]


def route_patterns() -> tuple[tuple[str, str], ...]:
    """(label, anchored regex over the path without query) for each forwarded route."""
    return tuple(
        (route_name(r), rf"^/face/{VERSION_PATTERN}/{re.escape(route_name(r))}$")
        for r in LIVENESS_ROUTES
    )


@functools.lru_cache(maxsize=1)
def _compiled_routes() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((label, re.compile(pattern)) for label, pattern in route_patterns())


def route_of(target: str) -> str:
    """The route label of a request target (`$request_uri`), or `other` for anything refused."""
    path = target.split("?", 1)[0]
    for label, pattern in _compiled_routes():
        if pattern.match(path):
            return label
    return OTHER_ROUTE


@dataclass(frozen=True)
class AlertThresholds:
    """What makes each alert fire, over `window_minutes`. Defaults alert early rather than late."""

    error_rate_percent: float = 5.0  # 5xx share of requests
    min_requests: int = 20  # below this many requests in the window the 5xx rate is not judged
    face_403_count: int = 10  # Face's own 403s (registration broken or not routed)
    throttled_count: int = 100  # 429s, the proxy's rate limit and Face's throttling together
    restart_count: int = 3  # replica restarts (metric RestartCount)
    certificate_days: int = 14  # fewer days of certificate validity left fails the check
    window_minutes: int = 15  # one of ALERT_WINDOW_MINUTES
    frequency_minutes: int = 5


# Windows (minutes) Azure accepts for each alert type the component declares; both are evaluated
# every ALERT_FREQUENCY_MINUTES, and a window shorter than the frequency would skip data.
# Metric alerts: windowSize PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H or P1D (Azure/azure-cli#31138,
# MicrosoftDocs/azure-docs#38575). Log search alerts (scheduledQueryRules 2021-08-01): the service
# answers "Supported granularities are: 5, 10, 15, ..., 2880" (Azure/azure-rest-api-specs#21258).
METRIC_ALERT_WINDOW_MINUTES = (1, 5, 15, 30, 60, 360, 720, 1440)
LOG_ALERT_WINDOW_MINUTES = (5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880)
ALERT_FREQUENCY_MINUTES = 5
# What every alert of the component accepts (up to an hour): `alertWindowMinutes` is checked against this.
ALERT_WINDOW_MINUTES = tuple(m for m in METRIC_ALERT_WINDOW_MINUTES
                             if m in LOG_ALERT_WINDOW_MINUTES and ALERT_FREQUENCY_MINUTES <= m <= 60)


@dataclass(frozen=True)
class SavedQuery:
    key: str  # stable id: saved search id, workbook item name
    title: str
    query: str
    visualization: str  # workbook chart: timechart | barchart | piechart | table


@dataclass(frozen=True)
class AlertQuery:
    key: str
    title: str
    description: str
    query: str
    time_aggregation: str  # "Count" (rows) or "Maximum" over `measure_column`
    measure_column: Optional[str]
    operator: str
    threshold: float
    severity: int


def _kql_string(text: str) -> str:
    return json.dumps(text)  # a KQL double-quoted string literal escapes like JSON


def _kql_verbatim(pattern: str) -> str:
    """A KQL verbatim string (@"..."): backslashes stay as written, quotes are doubled."""
    return '@"' + pattern.replace('"', '""') + '"'


def _check_app_name(app_name: str) -> str:
    if not _APP_NAME.match(app_name):
        raise ValueError(f"container app name {app_name!r}: expected lower-case letters, digits and hyphens")
    return app_name


def access_log_base(app_name: str) -> str:
    """Rows of the proxy's access log with typed columns: status, method, target, route,
    client_ip, request_time, upstream_status, upstream_time, rate_limit, from_face."""
    cases = ",\n    ".join(f"path matches regex {_kql_verbatim(p)}, {_kql_string(label)}" for label, p in route_patterns())
    return "\n".join([
        CONSOLE_TABLE,
        f"| where {APP_COLUMN} == {_kql_string(_check_app_name(app_name))}",
        f'| where {LINE_COLUMN} startswith "{{"',
        f"| extend entry = parse_json({LINE_COLUMN})",
        "| where isnotnull(entry.status)",
        "| extend status = toint(entry.status), method = tostring(entry.method), target = tostring(entry.target),",
        "    client_ip = tostring(entry.client_ip), request_time = todouble(entry.request_time),",
        "    upstream_status = tostring(entry.upstream_status), rate_limit = tostring(entry.rate_limit),",
        f"    upstream_time = todouble(extract({_kql_verbatim(LAST_NUMBER)}, 1, tostring(entry.upstream_response_time)))",
        '| extend path = tostring(split(target, "?")[0])',
        f"| extend route = case(\n    {cases},\n    {_kql_string(OTHER_ROUTE)})",
        '| extend from_face = upstream_status != "" and upstream_status != "-"',
    ])


def saved_queries(base: str = FUNCTION_ALIAS) -> tuple[SavedQuery, ...]:
    """The saved searches (and the workbook's charts) over `base`: by default the workspace function
    the component saves with :func:`access_log_base` as its body, so each query stays short."""
    per_5m = ", bin(TimeGenerated, 5m)"
    rows = (  # key, title, chart, what follows the base
        ("access-log", "Proxy access log (parsed)", "table", "\n| project TimeGenerated, status, method, route, "
         "target, client_ip, request_time, upstream_status, upstream_time, rate_limit"),
        ("requests-per-route", "Requests per route", "timechart",
         "\n| summarize requests = count() by route" + per_5m),
        ("status-mix", "Status mix", "timechart",
         '\n| summarize responses = count() by status_class = strcat(tostring(status / 100), "xx")' + per_5m),
        ("face-403", "Face 403s (registration broken or not routed through the proxy)", "timechart",
         "\n| where status == 403 and from_face\n| summarize responses = count() by route" + per_5m),
        ("throttled-429", "429s: proxy rate limit vs Face throttling", "timechart",
         '\n| where status == 429\n| summarize responses = count() by source = iff(rate_limit == "REJECTED", '
         '"proxy rate limit", "Face")' + per_5m),
        ("top-429-clients", "Top clients by 429", "table",
         "\n| where status == 429\n| summarize responses = count() by client_ip\n| top 20 by responses desc"),
        ("upstream-latency", "Upstream (Face) time p50/p95/p99, seconds", "timechart",
         "\n| where isnotnull(upstream_time)\n| summarize p50 = percentile(upstream_time, 50), "
         "p95 = percentile(upstream_time, 95), p99 = percentile(upstream_time, 99) by bin(TimeGenerated, 5m)"),
    )
    return tuple(SavedQuery(key, title, base + tail, chart) for key, title, chart, tail in rows)


def alert_queries(t: AlertThresholds, base: str = FUNCTION_ALIAS) -> tuple[AlertQuery, ...]:
    """Scheduled-query alert conditions over the access log (`base` as in :func:`saved_queries`)."""
    return (
        AlertQuery(
            "proxy-5xx-rate", "Liveness proxy: 5xx rate",
            f"More than {t.error_rate_percent:g}% of requests answered 5xx over {t.window_minutes} minutes "
            f"(at least {t.min_requests} requests): Face unreachable from the proxy (502/504) or failing.",
            # A log alert with a measure column aggregates by bin(TimeGenerated, …) itself: the
            # query's output must keep TimeGenerated, so the summarize bins it (one bin per window).
            base + f"\n| summarize total = count(), errors = countif(status >= 500) by bin(TimeGenerated, {t.window_minutes}m)"
            f"\n| where total >= {t.min_requests}"
            "\n| extend error_rate = round(100.0 * errors / total, 2)",
            "Maximum", "error_rate", "GreaterThan", t.error_rate_percent, 1),
        AlertQuery(
            "face-403-surge", "Liveness proxy: Face 403 surge",
            f"At least {t.face_403_count} 403s from Face in {t.window_minutes} minutes: the proxy host is not "
            "(or no longer) registered with Microsoft, or requests do not come through it.",
            base + "\n| where status == 403 and from_face", "Count", None, "GreaterThanOrEqual",
            float(t.face_403_count), 1),
        AlertQuery(
            "throttled-429-surge", "Liveness proxy: 429 surge",
            f"At least {t.throttled_count} 429s in {t.window_minutes} minutes (the proxy's per-client rate limit "
            "or Face throttling): a misbehaving client, an attack, or a quota to raise.",
            base + "\n| where status == 429", "Count", None, "GreaterThanOrEqual", float(t.throttled_count), 2),
    )


_SUMMARIZE = re.compile(r"\|\s*summarize\b(?P<body>[^|]*)")
_TIME_BIN = re.compile(r"\bby\b.*\bbin\(\s*TimeGenerated\s*,")


def alert_query_problems(alert: AlertQuery) -> list[str]:
    """Why Azure would fail to evaluate `alert` (empty: none found). A rule with a measure column
    aggregates its rows by bin(TimeGenerated, …), so every `summarize` in its query must keep
    TimeGenerated by binning it; a row-count rule counts rows and must not summarize them away."""
    summaries = [m.group("body") for m in _SUMMARIZE.finditer(alert.query)]
    if alert.measure_column is None:
        return [f"{alert.key}: a Count rule counts rows; its query must not summarize"] if summaries else []
    problems = [f"{alert.key}: `summarize{body.rstrip()}` does not bin TimeGenerated (by bin(TimeGenerated, …))"
                for body in summaries if not _TIME_BIN.search(body)]
    if not re.search(rf"\b{re.escape(alert.measure_column)}\s*=", alert.query):
        problems.append(f"{alert.key}: measure column {alert.measure_column} is never assigned")
    return problems


def summary_queries(app_name: str) -> dict[str, str]:
    """What `liveness-infra logs --stack` asks the workspace: the function's body inline, so it
    works on stacks without monitoring (no function saved there)."""
    base = access_log_base(app_name)
    return {
        "totals": base + '\n| summarize requests = count(), face_403 = countif(status == 403 and from_face), '
                  'throttled = countif(status == 429), proxy_rate_limited = countif(rate_limit == "REJECTED")',
        "routes": base + "\n| summarize requests = count() by route",
        "statuses": base + "\n| summarize requests = count() by status",
        "latency": base + "\n| summarize request_p50 = percentile(request_time, 50), request_p95 = percentile(request_time, 95), "
                   "request_p99 = percentile(request_time, 99), upstream_p50 = percentile(upstream_time, 50), "
                   "upstream_p95 = percentile(upstream_time, 95), upstream_p99 = percentile(upstream_time, 99)",
        "top_429": base + "\n| where status == 429\n| summarize responses = count() by client_ip\n| top 10 by responses desc",
    }


def expand(query: str, app_name: str) -> str:
    """`query` with the workspace function replaced by its body: what the workspace runs."""
    return re.sub(rf"\b{FUNCTION_ALIAS}\b", lambda _m: access_log_base(app_name), query)


def fields_used(query: str) -> set[str]:
    """The access-log JSON keys a query reads (every read goes through `entry.<key>`)."""
    return set(_FIELD_REF.findall(query))


def workbook_name(stack_key: str) -> str:
    """Workbook resources are named by a GUID: a stable one per stack, so updates replace in place."""
    return str(uuid.uuid5(_WORKBOOK_NAMESPACE, stack_key))


def workbook(queries: tuple[SavedQuery, ...], workspace_id: str, title: str) -> dict:
    """The workbook (Notebook/1.0) with a time-range picker and one chart per saved query."""
    items: list[dict] = [
        {"type": 1, "name": "intro", "content": {"json": (
            f"## {title}\nThe proxy's JSON access log (`{CONSOLE_TABLE}`). The same queries are saved in the "
            f"workspace under *{SAVED_SEARCH_CATEGORY}*; `liveness-infra logs --stack` prints the summary.")}},
        {"type": 9, "name": "parameters", "content": {
            "version": "KqlParameterItem/1.0",
            "parameters": [{
                "id": "8b1f3a52-7c1e-4d55-9f0e-0d4f6b7c2a10", "version": "KqlParameterItem/1.0",
                "name": "TimeRange", "type": 4, "isRequired": True,
                "value": {"durationMs": 86400000},
                "typeSettings": {"selectableValues": [{"durationMs": ms} for ms in
                                                      (3600000, 14400000, 86400000, 259200000, 604800000)]},
            }],
        }},
    ]
    for q in queries:
        items.append({
            "type": 3,
            "name": q.key,
            "content": {
                "version": "KqlItem/1.0",
                "title": q.title,
                "query": q.query,
                "size": 0,
                "queryType": 0,
                "resourceType": "microsoft.operationalinsights/workspaces",
                "crossComponentResources": [workspace_id],
                "timeContextFromParameter": "TimeRange",
                "timeContext": {"durationMs": 86400000},
                "visualization": q.visualization,
            },
        })
    return {"version": "Notebook/1.0", "items": items, "fallbackResourceIds": [workspace_id], "$schema": WORKBOOK_SCHEMA}


def workbook_json(queries: tuple[SavedQuery, ...], workspace_id: str, title: str) -> str:
    return json.dumps(workbook(queries, workspace_id, title), separators=(",", ":"))
