"""Per-client rate limiting keyed on the real client IP, methods, slow bodies."""

from __future__ import annotations

import time

import pytest
from proxykit.harness import RunningProxy, settings
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin

RATE, BURST = 1, 3
ROUTE = "/face/v1.2/session/start"


def burst_from(proxy: RunningProxy, client_ip: str | None, count: int) -> tuple[list[int | None], float]:
    """Statuses of `count` requests in a row (None: nothing answered), and how long they took."""
    headers = [("X-Forwarded-For", client_ip)] if client_ip else []
    started = time.monotonic()
    statuses = [exchange(proxy.host, proxy.port, build_request("POST", ROUTE, headers, b"{}")).status
                for _ in range(count)]
    return statuses, time.monotonic() - started


def assert_limited(statuses: list[int | None], elapsed: float) -> int:
    """First BURST+1 pass; then 429, except what the rate refills while the burst runs."""
    passed = statuses.count(200)
    assert set(statuses) <= {200, 429}, statuses
    assert statuses[:BURST + 1] == [200] * (BURST + 1), statuses
    assert BURST + 1 <= passed <= BURST + 1 + int(elapsed * RATE) + 1, (statuses, elapsed)
    assert statuses.count(429) >= 1
    return passed


@pytest.fixture(scope="module")
def behind_ingress(proxy_factory, standin: FaceStandin) -> RunningProxy:
    """Peer 127.0.0.1 is a trusted ingress: the client IP comes from X-Forwarded-For."""
    return proxy_factory(settings(rate_limit_per_second=RATE, rate_limit_burst=BURST,
                                  allow_options=False, trusted_proxy_cidrs=("127.0.0.0/8",),
                                  client_timeout_seconds=1), standin.address)


@pytest.fixture(scope="module")
def untrusted_peer(proxy_factory, standin: FaceStandin) -> RunningProxy:
    """Only 10.0.0.0/8 is trusted: a loopback peer's X-Forwarded-For is ignored."""
    return proxy_factory(settings(rate_limit_per_second=RATE, rate_limit_burst=BURST,
                                  trusted_proxy_cidrs=("10.0.0.0/8",)), standin.address)


def test_rate_limit_per_real_client_ip(behind_ingress: RunningProxy, upstream: FaceStandin) -> None:
    statuses, elapsed = burst_from(behind_ingress, "203.0.113.7", 10)
    passed = assert_limited(statuses, elapsed)
    assert len(upstream.records) == passed, "a 429 must not reach Face"
    # Another client behind the same ingress has its own allowance.
    other, _ = burst_from(behind_ingress, "198.51.100.23, 203.0.113.8", 2)
    assert other == [200, 200]
    log = behind_ingress.access_log_entries(
        until=lambda es: sum(e["client_ip"] in ("203.0.113.7", "203.0.113.8") for e in es) >= 12)
    assert {e["client_ip"] for e in log} >= {"203.0.113.7", "203.0.113.8"}
    assert {e["peer_ip"] for e in log} == {"127.0.0.1"}
    assert any(e["status"] == 429 and e["rate_limit"] == "REJECTED" for e in log)


def test_spoofed_forwarded_for_from_an_untrusted_peer_does_not_reset_the_limit(
        untrusted_peer: RunningProxy, upstream: FaceStandin) -> None:
    statuses, elapsed = burst_from(untrusted_peer, "203.0.113.7", 10)
    assert_limited(statuses, elapsed)
    spoofed, _ = burst_from(untrusted_peer, "203.0.113.99", 2)
    assert spoofed == [429, 429]
    log = untrusted_peer.access_log_entries(until=lambda es: len(es) >= 12)
    assert len(log) >= 12
    assert {e["client_ip"] for e in log} == {"127.0.0.1"}


def test_options_refused_when_browser_clients_are_off(behind_ingress: RunningProxy,
                                                      upstream: FaceStandin) -> None:
    sent = build_request("OPTIONS", ROUTE, [("Origin", "https://app.example"),
                                            ("X-Forwarded-For", "192.0.2.50")])
    result = exchange(behind_ingress.host, behind_ingress.port, sent)
    assert result.status == 405
    assert result.responses[0].header("allow") == [b"POST"]
    assert upstream.records == []


def test_slow_body_on_an_allowed_route_is_cut_off(behind_ingress: RunningProxy,
                                                  upstream: FaceStandin) -> None:
    """Bodies stream, so Face sees the head at once; a client that stalls mid-body is cut off
    at client_body_timeout (1 s here) and Face never gets a complete request."""
    head = build_request("POST", ROUTE, [("Content-Length", "1000"), ("X-Forwarded-For", "192.0.2.51")],
                         content_length=False)
    result = exchange(behind_ingress.host, behind_ingress.port, [head, b"x" * 10], timeout=6)
    assert result.status in (None, 408, 502) or result.closed
    assert result.elapsed < 5
    time.sleep(0.3)
    assert upstream.records == [], "an incomplete request must not be recorded as complete"
