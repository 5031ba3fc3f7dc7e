"""The upstream side: certificate verification, SNI and Host per mode, no retries, timeouts."""

from __future__ import annotations

import time

import pytest
from proxykit.harness import FACE_HOST, LOOPBACK, RunningProxy, settings
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


def test_client_mode_forwards_the_clients_host_and_sni_stays_the_account(
        main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    for host in ("liveness.contoso.test", "Liveness.Contoso.Test:443"):
        sent = build_request("POST", ROUTE, [], b"{}", host=host)
        assert exchange(main_proxy.host, main_proxy.port, sent).status == 200
    assert [r.header("host") for r in upstream.records] == [
        [b"liveness.contoso.test"], [b"Liveness.Contoso.Test:443"]]
    assert {r.sni for r in upstream.records} == {FACE_HOST}


def test_account_mode_sends_the_account_hostname(proxy_factory, standin: FaceStandin,
                                                 upstream: FaceStandin) -> None:
    proxy = proxy_factory(settings(upstream_host="account"), standin.address)
    sent = build_request("POST", ROUTE, [], b"{}", host="liveness.contoso.test")
    assert exchange(proxy.host, proxy.port, sent).status == 200
    assert upstream.records[0].header("host") == [FACE_HOST.encode()]
    assert upstream.records[0].sni == FACE_HOST


def test_http10_without_host_gets_the_account_hostname(main_proxy: RunningProxy,
                                                       upstream: FaceStandin) -> None:
    sent = b"POST " + ROUTE.encode() + b" HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"
    assert exchange(main_proxy.host, main_proxy.port, sent).status == 200
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
