"""`liveness-infra logs --file` on an access log written by the real nginx with the shipped format.

A known mix of requests goes through a real proxy (rate limited, in front of a Face stand-in that
answers 403 on one route); the summary of what nginx logged must count exactly that mix.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from proxykit.harness import RunningProxy, settings
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin, Recorded, default_response

from infra.logs.summary import summarize

PROJECT = Path(__file__).resolve().parents[2]
FORBIDDEN = (b'{"error":{"code":"PermissionDenied","message":"not registered"}}')


def face_like(request: Recorded) -> bytes:
    if b"detectLivenessWithVerify" in request.request_line:
        return (b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(FORBIDDEN)).encode() + b"\r\n\r\n" + FORBIDDEN)
    return default_response(request)


def send(proxy: RunningProxy, target: str, client: str, method: str = "POST") -> int:
    request = build_request(method, target, [("X-Forwarded-For", client)], b"{}" if method == "POST" else b"")
    status = exchange(proxy.host, proxy.port, request).status
    assert status is not None, f"no answer to {method} {target}"
    return status


@pytest.fixture()
def limited(proxy_factory, standin: FaceStandin) -> RunningProxy:
    return proxy_factory(settings(rate_limit_per_second=1, rate_limit_burst=0), standin.address)


def record_mix(proxy: RunningProxy) -> dict[str, int]:
    """Send the mix; returns the statuses the clients saw (what the log must add up to)."""
    seen: dict[str, int] = {}

    def note(status: int) -> None:
        seen[str(status)] = seen.get(str(status), 0) + 1

    # One request per client for the forwarded routes (under the 1 r/s limit).
    note(send(proxy, "/face/v1.2/session/start", "198.51.100.1"))
    note(send(proxy, "/face/v1.2/session/attempt/end?x=1", "198.51.100.2"))
    note(send(proxy, "/face/v1.2/detectLiveness/singleModal", "198.51.100.3"))
    note(send(proxy, "/face/v1.2/detectLivenessWithVerify/singleModal", "198.51.100.4"))  # Face 403
    note(send(proxy, "/face/v1.2/detect", "198.51.100.5"))  # refused: the proxy's own 404
    # A burst from one client: the first passes, the rest hit the proxy's rate limit.
    for _ in range(4):
        note(send(proxy, "/face/v1.2/session/start", "203.0.113.9"))
    return seen


def wait_for_lines(proxy: RunningProxy, count: int) -> str:
    deadline = time.monotonic() + 5
    text = proxy.access_log()
    while len([ln for ln in text.splitlines() if ln.strip()]) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        text = proxy.access_log()
    return text


def test_summary_of_a_real_access_log_counts_exactly_what_was_sent(limited: RunningProxy, upstream: FaceStandin,
                                                                     tmp_path: Path) -> None:
    upstream.respond = face_like
    seen = record_mix(limited)
    assert seen == {"200": 4, "403": 1, "404": 1, "429": 3}, seen
    log = wait_for_lines(limited, 9)

    summary = summarize(log.splitlines(), "live")
    assert summary.skipped_lines == 0
    assert summary.requests == 9
    assert summary.statuses == seen
    assert summary.routes == {"session/start": 5, "session/attempt/end": 1, "detectLiveness/singleModal": 1,
                              "detectLivenessWithVerify/singleModal": 1, "other": 1}
    assert summary.face_403 == 1
    assert summary.throttled == 3 and summary.proxy_rate_limited == 3
    assert summary.top_429_clients == [("203.0.113.9", 3)]
    p50, p95, p99 = (summary.latency["upstream"][p] for p in ("p50", "p95", "p99"))
    request_p99 = summary.latency["request"]["p99"]
    assert p50 is not None and p95 is not None and p99 is not None and request_p99 is not None, summary.latency
    assert 0 <= p50 <= p95 <= p99 < 3
    # nginx rounds both times to the millisecond from different clocks: equal within a few ms.
    assert request_p99 >= p99 - 0.005

    # The command on the same file, with a line that is not an access-log entry appended.
    path = tmp_path / "access.log"
    path.write_text(log + "nginx: [warn] something on stdout\n")
    done = subprocess.run([sys.executable, "-m", "infra.cli", "logs", "--file", str(path), "--json"],
                          cwd=PROJECT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["requests"] == 9 and data["skipped_lines"] == 1
    assert data["top_429_clients"] == [{"client_ip": "203.0.113.9", "responses": 3}]
    assert "skipped 1 malformed line" in done.stderr and "Traceback" not in done.stderr
