"""`liveness-infra logs`: the pure summary, `--file` on a log recorded from a real `proxy serve`
run, and `--stack` against a fake query client that returns azure-monitor-query's own models."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path
from typing import AbstractSet

import pytest
from azure.monitor.query import LogsQueryPartialResult, LogsQueryResult, LogsTable

from components.monitoring_queries import summary_queries
from infra.logs import command as logs_cmd
from infra.cli import main
from infra.errors import UserError
from infra.logs.summary import Entry, parse_line, percentile, summarize

RECORDED = Path(__file__).parent / "data" / "proxy-serve-access.log"
WORKSPACE = "2f0e8c1a-1b2c-4d3e-8f90-a1b2c3d4e5f6"


# --- pure summary ------------------------------------------------------------------------------


def test_recorded_proxy_serve_log_summary():
    """Recorded by `liveness-infra proxy serve --stack dev` (rate 10/s, burst 20) in front of a TLS
    stand-in answering 403 on detectLivenessWithVerify; its first two lines are serve's banner."""
    with open(RECORDED) as handle:
        s = summarize(handle, "recorded")
    assert (s.requests, s.skipped_lines, s.first_skipped_line) == (59, 2, 1)
    assert s.statuses == {"200": 42, "403": 2, "404": 2, "429": 13}
    assert s.routes == {"session/start": 48, "detectLiveness/singleModal": 4, "session/attempt/end": 3,
                        "detectLivenessWithVerify/singleModal": 2, "other": 2}
    assert (s.face_403, s.throttled, s.proxy_rate_limited) == (2, 13, 13)
    assert s.top_429_clients == [("127.0.0.1", 13)]
    p50, p95, p99 = (s.latency["upstream"][p] for p in ("p50", "p95", "p99"))
    assert p50 is not None and p95 is not None and p99 is not None, s.latency
    assert 0.01 < p50 <= p95 <= p99 < 1


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 95, 99, 100)] == [50.0, 95.0, 99.0, 100.0]
    assert percentile([0.3], 99) == 0.3 and percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0


@pytest.mark.parametrize("line", [
    "not json", "[1, 2]", '"text"', "{}", '{"status": "abc"}', '{"status": true}', '{"status": 99}',
    '{"status": 200', "\x00\xff{", '{"status": null}',
])
def test_malformed_lines_are_not_entries(line):
    assert parse_line(line) is None


def entry_of(line: str) -> Entry:
    entry = parse_line(line)
    assert entry is not None, f"not an entry: {line}"
    return entry


def test_line_details():
    entry = entry_of(json.dumps({"status": 502, "target": "/face/v1.2/session/start", "client_ip": "192.0.2.1",
                                   "request_time": 1.5, "upstream_response_time": "0.500, 1.000",
                                   "upstream_status": "502, 502", "rate_limit": "PASSED"}))
    assert entry.status == 502 and entry.upstream_time == 1.0 and entry.from_face and not entry.rate_limited
    refused = entry_of('{"status":404,"target":"/x","upstream_status":"","upstream_response_time":"","request_time":0.000}')
    assert refused.upstream_time is None and not refused.from_face and refused.request_time == 0.0
    limited = entry_of('{"status":429,"rate_limit":"REJECTED","client_ip":"198.51.100.7"}')
    assert limited.rate_limited


def test_face_403_needs_an_upstream_answer_and_429_sources_are_split():
    lines = [
        '{"status":403,"target":"/face/v1.2/session/start","upstream_status":"403"}',
        '{"status":403,"target":"/face/v1.2/session/start","upstream_status":""}',
        '{"status":429,"client_ip":"a","rate_limit":"REJECTED"}',
        '{"status":429,"client_ip":"b","upstream_status":"429","rate_limit":"PASSED"}',
        '{"status":429,"client_ip":"b","upstream_status":"429","rate_limit":"PASSED"}',
        "",
    ]
    s = summarize(lines, "t")
    assert (s.requests, s.skipped_lines) == (5, 0)
    assert s.face_403 == 1 and s.throttled == 3 and s.proxy_rate_limited == 1
    assert s.top_429_clients == [("b", 2), ("a", 1)]


# --- the command on files ----------------------------------------------------------------------


def test_file_text_and_json(capsys):
    assert main(["logs", "--file", str(RECORDED)]) == 0
    out, err = capsys.readouterr()
    assert "requests: 59" in out and "session/start" in out and "127.0.0.1" in out
    assert "skipped 2 malformed line(s)" in err and "first at line 1" in err
    assert main(["logs", "--file", str(RECORDED), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["statuses"]["429"] == 13 and data["latency"]["upstream"]["p95"] > 0


@pytest.mark.parametrize("make, flag_text", [
    (lambda p: str(p / "missing.log"), "does not exist"),
    (lambda p: str(p), "is a directory"),
])
def test_unreadable_file_is_one_line(tmp_path, capsys, make, flag_text):
    assert main(["logs", "--file", make(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--file" in err and flag_text in err and "Traceback" not in err


def test_binary_file_is_counted_not_crashed(tmp_path, capsys):
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 40 + b"\n" + b'{"status":200,"target":"/face/v1.2/session/start"}\n')
    assert main(["logs", "--file", str(path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["requests"] == 1 and "skipped" in err


def test_a_file_without_any_entry_is_an_error(tmp_path, capsys):
    path = tmp_path / "nginx.conf"
    path.write_text("worker_processes 1;\nevents {}\n")
    assert main(["logs", "--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "none of the 2 non-empty lines" in err
    empty = tmp_path / "empty.log"
    empty.write_text("")
    assert main(["logs", "--file", str(empty)]) == 0
    assert "no access-log entries found" in capsys.readouterr().out


def test_stack_without_the_pulumi_cli_says_what_to_pass(monkeypatch, capsys):
    monkeypatch.setattr("shutil.which", lambda _name: None)
    assert main(["logs", "--stack", "prod"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi CLI" in err and "--workspace-id and --app" in err and err.count("\n") == 1


def test_since_is_for_stack_only(capsys):
    assert main(["logs", "--file", str(RECORDED), "--since", "1h"]) == 2
    assert "--since: applies to --stack only" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["1", "1w", "0m", "-1h", "91d", "h"])
def test_bad_since(text):
    with pytest.raises(UserError, match="--since"):
        logs_cmd.parse_since(text)


def test_since_units():
    assert logs_cmd.parse_since("90s") == timedelta(seconds=90)
    assert logs_cmd.parse_since("7d") == timedelta(days=7)


# --- the command against a workspace -----------------------------------------------------------


def _table(columns, types, rows):
    return LogsTable(columns=columns, columns_types=types, rows=rows)


ANSWERS = {
    "totals": _table(["requests", "face_403", "throttled", "proxy_rate_limited"], ["long"] * 4, [[1200, 7, 30, 25]]),
    "routes": _table(["route", "requests"], ["string", "long"],
                     [["session/start", 600], ["other", 12], ["detectLiveness/singleModal", 588]]),
    "statuses": _table(["status", "requests"], ["int", "long"], [[200, 1150], [403, 7], [429, 30], [502, 13]]),
    "latency": _table([f"{k}_p{p}" for k in ("request", "upstream") for p in (50, 95, 99)], ["real"] * 6,
                      [[0.05, 0.2, 0.9, 0.04, 0.18, None]]),
    "top_429": _table(["client_ip", "responses"], ["string", "long"], [["203.0.113.9", 25], ["198.51.100.2", 5]]),
}


class FakeClient:
    def __init__(self, partial: AbstractSet[str] = frozenset(), fail: Exception | None = None):
        self.calls: list[tuple[str, str, object]] = []
        self.partial, self.fail = partial, fail
        self.by_query = {q: name for name, q in summary_queries("fl-prod-proxy").items()}

    def query_workspace(self, workspace_id, query, *, timespan):
        self.calls.append((workspace_id, query, timespan))
        if self.fail:
            raise self.fail
        name = self.by_query[query]
        if name in self.partial:
            return LogsQueryPartialResult(partial_data=[ANSWERS[name]], partial_error=type("E", (), {"message": "limit"})())
        return LogsQueryResult(tables=[ANSWERS[name]])


def outputs_of(stack):
    assert stack == "prod"
    return {"logAnalyticsWorkspaceId": WORKSPACE, "proxyAppName": "fl-prod-proxy", "proxyHost": "liveness.contoso.com"}


def run_logs(argv, client, outputs=outputs_of):
    parser = argparse.ArgumentParser()
    logs_cmd.register(parser.add_subparsers())
    return logs_cmd.run(parser.parse_args(["logs", *argv]), client_factory=lambda: client, outputs=outputs)


def test_stack_queries_the_workspace_from_the_outputs(capsys):
    client = FakeClient()
    assert run_logs(["--stack", "prod", "--since", "6h", "--json"], client) == 0
    assert {c[0] for c in client.calls} == {WORKSPACE}
    assert {c[2] for c in client.calls} == {timedelta(hours=6)}
    assert sorted(c[1] for c in client.calls) == sorted(summary_queries("fl-prod-proxy").values())
    data = json.loads(capsys.readouterr().out)
    assert data["requests"] == 1200 and data["face_403"] == 7
    assert (data["throttled"], data["proxy_rate_limited"]) == (30, 25)
    assert data["routes"] == {"session/start": 600, "detectLiveness/singleModal": 588, "other": 12}
    assert data["statuses"] == {"200": 1150, "403": 7, "429": 30, "502": 13}
    assert data["latency"]["upstream"] == {"p50": 0.04, "p95": 0.18, "p99": None}
    assert data["top_429_clients"][0] == {"client_ip": "203.0.113.9", "responses": 25}
    assert "last 6h" in data["source"]


def test_stack_text_and_partial_results_warn(capsys):
    assert run_logs(["--stack", "prod"], FakeClient(partial={"routes"})) == 0
    out, err = capsys.readouterr()
    assert "requests: 1200" in out and "502" in out and "203.0.113.9" in out
    assert "partial result" in err and "routes" in err


def test_workspace_flags_skip_the_outputs(capsys):
    def no_outputs(_stack):
        raise AssertionError("outputs must not be read")
    client = FakeClient()
    assert run_logs(["--stack", "prod", "--workspace-id", WORKSPACE, "--app", "fl-prod-proxy"], client, no_outputs) == 0
    assert len(client.calls) == len(summary_queries("fl-prod-proxy"))


def test_query_errors_are_one_line():
    class ClientAuthenticationError(Exception):
        pass
    with pytest.raises(UserError, match=r"querying workspace .* ClientAuthenticationError: DefaultAzureCredential failed"):
        run_logs(["--stack", "prod"], FakeClient(fail=ClientAuthenticationError("DefaultAzureCredential failed\nmore")))


def test_missing_outputs_and_bad_ids():
    with pytest.raises(UserError, match="lack logAnalyticsWorkspaceId, proxyAppName"):
        run_logs(["--stack", "prod"], FakeClient(), outputs=lambda s: {})
    with pytest.raises(UserError, match="--workspace-id: received 'not-a-guid'"):
        run_logs(["--stack", "prod", "--workspace-id", "not-a-guid"], FakeClient())
    with pytest.raises(UserError, match="--app: received 'Bad App'"):
        run_logs(["--stack", "prod", "--app", "Bad App"], FakeClient())


def test_logs_is_listed_in_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "logs" in capsys.readouterr().out
