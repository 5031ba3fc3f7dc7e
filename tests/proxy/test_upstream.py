"""The upstream side: certificate verification, no retries, timeouts, DNS re-resolution."""

from __future__ import annotations

import time

import pytest
from proxykit.dnsstub import DnsStub
from proxykit.harness import FACE_HOST, LOOPBACK, RunningProxy, free_port, settings
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin

ROUTE = "/face/v1.2/detectLiveness/singleModal"


def post(proxy: RunningProxy, body: bytes = b"{}", timeout: float = 10.0) -> int | None:
    return exchange(proxy.host, proxy.port, build_request("POST", ROUTE, [], body),
                    timeout=timeout).status


@pytest.mark.parametrize("which", ["untrusted-ca", "wrong-hostname"])
def test_upstream_certificate_is_verified(proxy_factory, pki, which: str) -> None:
    cert, key = ((pki.rogue_cert, pki.rogue_key) if which == "untrusted-ca"
                 else (pki.wrong_name_cert, pki.wrong_name_key))
    with FaceStandin(LOOPBACK, 0, cert, key) as impostor:
        proxy = proxy_factory(settings(), impostor.address)
        assert post(proxy) == 502
        assert impostor.records == [], "no request may be sent over an unverified connection"
        assert "certificate" in proxy.error_log()


def test_sni_and_host_are_the_account_hostname(main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    assert post(main_proxy) == 200
    assert upstream.sni_names == [FACE_HOST]
    assert upstream.records[0].header("host") == [FACE_HOST.encode()]


def test_failed_post_is_not_retried(main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    upstream.respond = lambda _r: None  # read the request, close without answering
    assert post(main_proxy, b'{"once":true}') == 502
    time.sleep(0.3)
    assert len(upstream.records) == 1


def test_upstream_timeout_is_a_504(main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    timeout = main_proxy.process.settings.upstream_timeout_seconds

    def slow(_r):
        time.sleep(timeout + 1.5)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    upstream.respond = slow
    started = time.monotonic()
    assert post(main_proxy, timeout=timeout + 5) == 504
    assert timeout - 0.5 <= time.monotonic() - started < timeout + 3
    assert len(upstream.records) == 1


@pytest.fixture()
def two_endpoints(pki):
    """Two stand-ins for Face on 127.0.0.1 and 127.0.0.2, same port (old and new private IP)."""
    for _attempt in range(20):
        port = free_port()
        try:
            first = FaceStandin("127.0.0.1", port, pki.face_cert, pki.face_key)
        except OSError:
            continue
        try:
            second = FaceStandin("127.0.0.2", port, pki.face_cert, pki.face_key)
        except OSError:
            first.sock.close()
            continue
        first.start(), second.start()
        try:
            yield first, second
        finally:
            first.stop(), second.stop()
        return
    pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")


def test_a_changed_private_endpoint_address_is_followed(proxy_factory, two_endpoints) -> None:
    old, new = two_endpoints
    with DnsStub() as dns:
        dns.set_a(FACE_HOST, ["127.0.0.1"])
        proxy = proxy_factory(settings(dns_valid_seconds=1), f"{FACE_HOST}:{old.port}",
                              resolver=dns.address)
        for _ in range(3):
            assert post(proxy) == 200
        assert len(old.records) == 3 and new.records == []
        assert FACE_HOST + "." in dns.queries

        dns.set_a(FACE_HOST, ["127.0.0.2"])
        changed_at = time.monotonic()
        deadline = changed_at + 8
        while time.monotonic() < deadline and not new.records:
            assert post(proxy) == 200
            time.sleep(0.2)
        followed_after = time.monotonic() - changed_at
        assert new.records, "traffic never followed the new address"
        assert followed_after < 1 + 4, followed_after  # valid=1s plus slack for a loaded machine
        before = len(old.records)
        for _ in range(3):
            assert post(proxy) == 200
        assert len(old.records) == before, "no request may go to the old address after the switch"
        assert len(new.records) >= 4
        assert {r.sni for r in new.records} == {FACE_HOST}


def test_no_retry_on_another_resolved_address(proxy_factory, two_endpoints) -> None:
    """With two A records and one failing endpoint, a failed POST is not sent to the other."""
    failing, healthy = two_endpoints
    failing.respond = lambda _r: None
    with DnsStub() as dns:
        dns.set_a(FACE_HOST, ["127.0.0.1", "127.0.0.2"])
        proxy = proxy_factory(settings(dns_valid_seconds=60), f"{FACE_HOST}:{failing.port}",
                              resolver=dns.address)
        # nginx picks the first address of a randomly rotated answer: keep posting (bounded)
        # until both endpoints have been tried, so chance cannot leave one of them unused.
        statuses: list[int] = []
        for i in range(40):
            statuses.append(post(proxy, f'{{"n":{i}}}'.encode()))
            if 502 in statuses and 200 in statuses:
                break
        # The stand-ins record on their own threads: wait (bounded) until every POST has landed,
        # then a little longer so a wrongly retried copy would show up as an extra record.
        deadline = time.monotonic() + 5.0
        while len(failing.records) + len(healthy.records) < len(statuses) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    assert 502 in statuses and 200 in statuses, statuses
    assert statuses.count(502) == len(failing.records)
    assert statuses.count(200) == len(healthy.records)
    bodies = [r.body for r in failing.records + healthy.records]
    assert len(bodies) == len(set(bodies)) == len(statuses), "each POST reached Face exactly once"
