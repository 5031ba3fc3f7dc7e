"""Pure: the access-log summary `liveness-infra logs` prints, from parsed lines or query tables.

Both sources end in the same :class:`Summary`: a local JSON access log (lines nginx wrote with the
`liveness_json` format, e.g. saved from `proxy serve`) is summarised here line by line; the
workspace path runs the KQL of components/monitoring_queries.py `summary_queries` and hands the
result tables to :func:`summary_from_tables`. Routes and percentiles follow the same rules on both
sides: route labels from `route_of`, the last upstream time of a retried request, nearest-rank
percentiles (Log Analytics estimates its percentiles, so large samples may differ slightly).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

from components.monitoring_queries import LAST_NUMBER, route_of

PERCENTILES = (50, 95, 99)
TOP_CLIENTS = 10
_LAST_NUMBER = re.compile(LAST_NUMBER)


@dataclass
class Summary:
    source: str
    requests: int = 0
    routes: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    face_403: int = 0  # 403s that came from Face (an upstream answered)
    throttled: int = 0  # every 429
    proxy_rate_limited: int = 0  # 429s from the proxy's own rate limit
    latency: dict[str, dict[str, Optional[float]]] = field(default_factory=dict)  # request|upstream → p50…
    top_429_clients: list[tuple[str, int]] = field(default_factory=list)
    skipped_lines: int = 0
    first_skipped_line: Optional[int] = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["top_429_clients"] = [{"client_ip": ip, "responses": n} for ip, n in self.top_429_clients]
        return data


@dataclass(frozen=True)
class Entry:
    status: int
    target: str
    client_ip: str
    request_time: Optional[float]
    upstream_time: Optional[float]
    from_face: bool
    rate_limited: bool


def _seconds(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        m = _LAST_NUMBER.search(value)
        if m:
            try:
                return float(m.group(1))
            except ValueError:
                return None
    return None


def parse_line(line: str) -> Optional[Entry]:
    """One access-log line, or None when it is not a JSON object with a numeric status."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    status = data.get("status")
    if status is None or isinstance(status, bool):
        return None
    try:
        status = int(status)
    except (TypeError, ValueError):
        return None
    if not 100 <= status <= 599:
        return None
    upstream_status = data.get("upstream_status")
    return Entry(
        status=status,
        target=str(data.get("target") or ""),
        client_ip=str(data.get("client_ip") or "-"),
        request_time=_seconds(data.get("request_time")),
        upstream_time=_seconds(data.get("upstream_response_time")),
        from_face=isinstance(upstream_status, str) and upstream_status not in ("", "-"),
        rate_limited=data.get("rate_limit") == "REJECTED",
    )


def percentile(values: Sequence[float], p: float) -> Optional[float]:
    """Nearest-rank percentile of `values` (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(lines: Iterable[str], source: str) -> Summary:
    """Summary of access-log lines; blank lines are ignored, malformed ones counted and skipped."""
    summary = Summary(source=source)
    routes: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    clients_429: Counter[str] = Counter()
    request_times: list[float] = []
    upstream_times: list[float] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        entry = parse_line(line)
        if entry is None:
            summary.skipped_lines += 1
            summary.first_skipped_line = summary.first_skipped_line or number
            continue
        summary.requests += 1
        routes[route_of(entry.target)] += 1
        statuses[str(entry.status)] += 1
        if entry.status == 403 and entry.from_face:
            summary.face_403 += 1
        if entry.status == 429:
            summary.throttled += 1
            clients_429[entry.client_ip] += 1
        if entry.rate_limited:
            summary.proxy_rate_limited += 1
        if entry.request_time is not None:
            request_times.append(entry.request_time)
        if entry.upstream_time is not None:
            upstream_times.append(entry.upstream_time)
    summary.routes = dict(routes.most_common())
    summary.statuses = dict(sorted(statuses.items()))
    summary.latency = {
        "request": {f"p{p}": percentile(request_times, p) for p in PERCENTILES},
        "upstream": {f"p{p}": percentile(upstream_times, p) for p in PERCENTILES},
    }
    summary.top_429_clients = sorted(clients_429.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CLIENTS]
    return summary


Table = tuple[Sequence[str], Sequence[Sequence[Any]]]  # (column names, rows)


def _records(table: Table) -> list[dict[str, Any]]:
    columns, rows = table
    return [dict(zip(columns, row)) for row in rows]


def _number(value: Any) -> Optional[float]:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def summary_from_tables(tables: Mapping[str, Table], source: str) -> Summary:
    """Summary from the result tables of `summary_queries` (keys totals, routes, statuses, latency, top_429)."""
    summary = Summary(source=source)
    totals = _records(tables["totals"])
    if totals:
        row = totals[0]
        summary.requests = int(_number(row.get("requests")) or 0)
        summary.face_403 = int(_number(row.get("face_403")) or 0)
        summary.throttled = int(_number(row.get("throttled")) or 0)
        summary.proxy_rate_limited = int(_number(row.get("proxy_rate_limited")) or 0)
    routes = [(str(r["route"]), int(_number(r["requests"]) or 0)) for r in _records(tables["routes"])]
    summary.routes = dict(sorted(routes, key=lambda kv: (-kv[1], kv[0])))
    statuses = [(str(int(_number(r["status"]) or 0)), int(_number(r["requests"]) or 0)) for r in _records(tables["statuses"])]
    summary.statuses = dict(sorted(statuses))
    latency = (_records(tables["latency"]) or [{}])[0]
    summary.latency = {
        kind: {f"p{p}": _number(latency.get(f"{kind}_p{p}")) for p in PERCENTILES} for kind in ("request", "upstream")
    }
    summary.top_429_clients = [(str(r["client_ip"]), int(_number(r["responses"]) or 0))
                               for r in _records(tables["top_429"])][:TOP_CLIENTS]
    return summary


def _ms(value: Optional[float]) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def render_text(summary: Summary) -> str:
    lines = [f"liveness proxy access log: {summary.source}", f"requests: {summary.requests}"]
    if summary.requests == 0:
        lines.append("no access-log entries found")
    width = max([len(r) for r in summary.routes] + [10])
    lines += ["", "requests per route"]
    lines += [f"  {route:<{width}}  {count:>8}" for route, count in summary.routes.items()]
    lines += ["", "status mix"]
    for status, count in summary.statuses.items():
        share = 100.0 * count / summary.requests if summary.requests else 0.0
        lines.append(f"  {status}  {count:>8}  {share:5.1f}%")
    lines += ["", f"Face 403s: {summary.face_403}   429s: {summary.throttled} "
                  f"(proxy rate limit {summary.proxy_rate_limited}, Face {summary.throttled - summary.proxy_rate_limited})"]
    lines += ["", f"  {'latency':<16}{'p50':>10}{'p95':>10}{'p99':>10}"]
    for kind, label in (("request", "request (total)"), ("upstream", "upstream (Face)")):
        values = summary.latency.get(kind, {})
        lines.append(f"  {label:<16}" + "".join(f"{_ms(values.get(f'p{p}')):>10}" for p in PERCENTILES))
    lines += ["", "top clients by 429"]
    lines += [f"  {ip:<39}  {count:>8}" for ip, count in summary.top_429_clients] or ["  none"]
    return "\n".join(lines) + "\n"
