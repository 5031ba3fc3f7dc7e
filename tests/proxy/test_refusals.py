"""Hostile requests are refused by the proxy and never reach the Face stand-in."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from hostile_corpus import Case, build_corpus
from proxykit.harness import RunningProxy
from proxykit.rawhttp import Exchange, build_request, exchange
from proxykit.standin import FaceStandin

from components.proxy_routes import REFUSED_ROUTE_BODY

# What "refused" may look like: a 4xx/5xx from nginx itself, or (for clients too slow to finish
# their request head) the connection closed without an answer.
REFUSAL_STATUSES = {400, 404, 405, 408, 411, 413, 414, 431, 494, 501, 505}
CORPUS = build_corpus()


def _send(proxy: RunningProxy, case: Case) -> tuple[Case, Exchange | Exception]:
    try:
        return case, exchange(proxy.host, proxy.port, list(case.pieces), pause=case.pause,
                              timeout=case.timeout, head_request=case.head)
    except Exception as exc:  # noqa: BLE001 - a reset counts as refused; reported below
        return case, exc


def test_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 200
    assert len({c.name for c in CORPUS}) == len(CORPUS), "case names must be unique"
    tags = Counter(tag for case in CORPUS for tag in case.tags)
    for tag in ("path", "version", "route", "method", "line", "header", "smuggle", "oversize", "slow"):
        assert tags[tag] >= 1, tag


def test_every_hostile_request_is_refused_and_none_reaches_face(main_proxy: RunningProxy,
                                                                upstream: FaceStandin) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(lambda case: _send(main_proxy, case), CORPUS))
    elapsed = time.monotonic() - started

    not_refused: list[tuple[str, object]] = []  # (case, "no answer" or the statuses)
    outcomes: Counter[str] = Counter()
    for case, result in results:
        if isinstance(result, Exception):
            outcomes["reset"] += 1
            continue
        statuses = [r.status for r in result.responses]
        if not statuses and result.raw.startswith(b"<html>") and b"400 Bad Request" in result.raw:
            statuses = [400]  # an HTTP/0.9 request gets a bare body, without a status line
        if not statuses:
            outcomes["closed-without-answer" if result.closed else "no-answer"] += 1
            if "slow" not in case.tags:
                not_refused.append((case.name, "no answer"))
            continue
        outcomes[str(statuses[0])] += 1
        if any(status not in REFUSAL_STATUSES for status in statuses):
            not_refused.append((case.name, statuses))
    assert not not_refused, f"not refused: {not_refused}"
    time.sleep(0.2)  # let any (wrongly) forwarded request land before looking
    assert upstream.records == [], [r.request_line for r in upstream.records]
    assert upstream.tls_connections == 0, "the proxy must not even connect to Face"
    # Slow clients are cut off at client_header_timeout (2 s here), not left hanging.
    assert elapsed < 30, (elapsed, outcomes)
    print(f"\n{len(CORPUS)} hostile requests in {elapsed:.1f}s: {dict(outcomes)}")


def test_refusals_are_logged_without_secrets(main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    sent = build_request("POST", "/face/v1.2/detectLiveness-sessions",
                         [("Authorization", "Bearer REFUSED-SECRET-TOKEN"),
                          ("Cookie", "sid=REFUSED-COOKIE"), ("X-Request-Id", "ingress-req-77")],
                         b'{"secret":"REFUSED-BODY"}')
    assert exchange(main_proxy.host, main_proxy.port, sent).status == 404
    deadline = time.monotonic() + 3
    line = None
    while time.monotonic() < deadline and line is None:
        line = next((json.loads(l) for l in main_proxy.access_log().splitlines()
                     if "ingress-req-77" in l), None)
        time.sleep(0.05)
    assert line is not None, "refused request missing from the access log"
    assert line["status"] == 404 and line["upstream_addr"] == ""
    assert line["target"] == "/face/v1.2/detectLiveness-sessions"
    logs = main_proxy.access_log() + main_proxy.error_log()
    for secret in ("REFUSED-SECRET-TOKEN", "REFUSED-COOKIE", "REFUSED-BODY"):
        assert secret not in logs


def test_refused_route_answer_is_the_proxys_own(main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    """The 404 for a route outside the allowlist is the proxy's fixed plain-text body, so a caller
    (and `liveness-infra smoke`) can tell it from an answer of Face, which is JSON."""
    sent = build_request("POST", "/face/v1.2/detect", [("Content-Type", "application/json")], b"{}")
    answer = exchange(main_proxy.host, main_proxy.port, sent)
    assert answer.status == 404
    response = answer.responses[0]
    assert response.body == REFUSED_ROUTE_BODY.encode()
    assert response.header("Content-Type") == [b"text/plain"]
    assert upstream.records == []
