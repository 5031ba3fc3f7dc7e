"""The keep-alive pool to Face: few TLS handshakes, session reuse, and a pooled connection Face
closes while idle never becomes an error for a client."""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
from proxykit.harness import LOOPBACK, RunningProxy, settings
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin

from infra.proxy.runner import ProxyProcess, ServeOptions

ROUTE = "/face/v1.2/session/start"
CONCURRENCY = 40   # the scale rule's concurrency in these tests


def post(proxy: RunningProxy, body: bytes = b"{}") -> int | None:
    return exchange(proxy.host, proxy.port, build_request("POST", ROUTE, [], body)).status


def load(proxy: RunningProxy, clients: int, each: int, gap=lambda rnd: 0.0) -> Counter:
    def client(seed: int) -> list[int | None]:
        rnd = random.Random(seed)
        statuses = []
        for _ in range(each):
            statuses.append(post(proxy))
            delay = gap(rnd)
            if delay:
                time.sleep(delay)
        return statuses

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return Counter(s for batch in pool.map(client, range(clients)) for s in batch)


@pytest.fixture()
def own_standin(pki) -> Iterator[FaceStandin]:
    """A stand-in of its own, so its connection counters see only this test's proxy."""
    with FaceStandin(LOOPBACK, 0, pki.face_cert, pki.face_key) as server:
        yield server


def test_sequential_requests_share_one_connection(proxy_factory, own_standin: FaceStandin) -> None:
    proxy = proxy_factory(settings(cpu=1.0), own_standin.address)
    for _ in range(300):
        assert post(proxy) == 200
    assert len(own_standin.records) == 300
    assert own_standin.tls_connections == 1, "one worker, one pooled connection"


@pytest.mark.parametrize("workers", [1, 2])
def test_at_the_scale_rules_concurrency_connections_grow_to_a_bound_and_none_is_closed(
        proxy_factory, own_standin: FaceStandin, workers: int) -> None:
    """The pool never closes a connection at the scale rule's concurrency, so connections to Face
    only grow to a bound (workers x concurrency) and stop: new connections per 1,000 requests tend
    to zero over a day. How fast the bound is reached depends on how the machine schedules the
    clients, so the rate itself is a figure `make bench` reports, not an assertion here. Clients
    open a new connection per request, so which worker serves one is chance: with two workers each
    one's in-flight count wanders up to the whole concurrency."""
    proxy = proxy_factory(settings(cpu=float(workers), concurrent_requests=CONCURRENCY),
                          own_standin.address)
    assert load(proxy, CONCURRENCY, 20) == {200: CONCURRENCY * 20}
    before = own_standin.tls_connections
    assert load(proxy, CONCURRENCY, 50) == {200: CONCURRENCY * 50}
    new = own_standin.tls_connections - before
    print(f"\n{workers} worker(s): {before} connections for the first {CONCURRENCY * 20} "
          f"requests, {new} more for the next {CONCURRENCY * 50}")
    assert own_standin.closed_by_client == 0, "the proxy closed pooled connections: churn"
    assert own_standin.tls_connections <= workers * CONCURRENCY, "connections grew past the bound"


def test_new_connections_resume_the_tls_session(proxy_factory, own_standin: FaceStandin) -> None:
    proxy = proxy_factory(settings(cpu=1.0, upstream_idle_ms=200), own_standin.address)
    for _ in range(3):
        assert post(proxy) == 200
        time.sleep(0.5)   # longer than the pool's idle timeout: the next request reconnects
    assert own_standin.tls_connections == 3
    assert own_standin.resumed_connections == 2, "reconnects must resume the TLS session"


def test_idle_closes_by_face_never_reach_a_client(proxy_factory, pki) -> None:
    """Face closes a connection that has been idle for a random time above its keep-alive timeout
    (0.4-1.0 s here); the pool's idle timeout (0.25 s here, 30 s shipped) is below it, so the proxy
    always closes first and never sends a request on a connection Face is closing. Clients pause
    at random so pooled connections sit idle for every length of time. Without the ordering a
    request now and then meets a connection Face just closed: a 502, since POSTs are not retried."""
    rnd = random.Random(8)
    with FaceStandin(LOOPBACK, 0, pki.face_cert, pki.face_key,
                     idle_close=lambda: rnd.uniform(0.4, 1.0)) as face:
        proxy = proxy_factory(settings(cpu=2.0, upstream_idle_ms=250), face.address)
        statuses = load(proxy, 10, 220,
                        gap=lambda r: r.uniform(0, 0.003) if r.random() < 0.95 else r.uniform(0.2, 1.0))
        time.sleep(0.5)
        assert statuses == {200: 2200}, statuses
        assert len(face.records) == 2200
        assert face.closed_by_client > 0, "the pool's idle timeout never fired: the test proved nothing"
        assert face.closed_idle_by_standin == 0, "Face closed an idle pooled connection before the proxy did"


class ScaleRulePool(ProxyProcess):
    """The pool as it was sized before: twice the scale rule's concurrency, not what a worker carries."""

    def render(self, runtime_dir):
        import re

        text = super().render(runtime_dir)
        return re.sub(r"keepalive [0-9]+;", f"keepalive {2 * CONCURRENCY};", text, count=1)


def _distinct_clients(proxy: RunningProxy, clients: int, each: int) -> Counter:
    """`clients` concurrent clients, each its own IP behind the ingress (X-Forwarded-For)."""
    def client(index: int) -> list[int | None]:
        request = build_request("POST", ROUTE, [("X-Forwarded-For", f"10.9.{index // 250}.{index % 250 + 1}")], b"{}")
        return [exchange(proxy.host, proxy.port, request).status for _ in range(each)]

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return Counter(s for batch in pool.map(client, range(clients)) for s in batch)


def _burst(kind, own_standin: FaceStandin, pki, tmp_path) -> tuple[Counter, int]:
    from proxykit.harness import free_port

    from proxykit.standin import Recorded, default_response

    # Face takes 50 ms per request, so the burst's requests overlap as they do in production.
    def slow_face(request: Recorded) -> bytes:
        time.sleep(0.05)
        return default_response(request)

    own_standin.respond = slow_face
    options = ServeOptions(listen=f"{LOOPBACK}:{free_port()}", health_listen=f"{LOOPBACK}:{free_port()}",
                           face_address=own_standin.address, trusted_ca=str(pki.ca.cert_path))
    process = kind(settings(cpu=1.0, concurrent_requests=CONCURRENCY), options,
                   stdout=open(tmp_path / "out.log", "wb"), stderr=open(tmp_path / "err.log", "wb")).start()
    try:
        proxy = RunningProxy(process, LOOPBACK, process.listen_port, process.health_port,
                             tmp_path / "out.log", tmp_path / "err.log")
        return _distinct_clients(proxy, 4 * CONCURRENCY, 15), own_standin.closed_by_client
    finally:
        process.stop()


def test_a_burst_at_four_times_the_scale_rule_reuses_pooled_connections(own_standin, pki, tmp_path) -> None:
    statuses, closed = _burst(ProxyProcess, own_standin, pki, tmp_path)
    print(f"\npool sized to the worker: {closed} pooled connections closed by the proxy "
          f"during {4 * CONCURRENCY * 15} requests at {4 * CONCURRENCY} clients")
    assert statuses == {200: 4 * CONCURRENCY * 15}
    assert closed == 0, "the proxy closed pooled connections under the burst: churn"


def test_control_a_pool_sized_to_the_scale_rule_churns_under_the_burst(own_standin, pki, tmp_path) -> None:
    statuses, closed = _burst(ScaleRulePool, own_standin, pki, tmp_path)
    print(f"\npool of 2x the scale rule: {closed} pooled connections closed by the proxy")
    assert statuses == {200: 4 * CONCURRENCY * 15}
    assert closed > 0
