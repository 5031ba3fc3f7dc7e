"""The upstream side: certificate verification, SNI and Host per mode, retries only before a byte
is written, timeouts."""

from __future__ import annotations

import time

import pytest
from proxykit.harness import FACE_HOST, LOOPBACK, RunningProxy, free_port, settings
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin

from infra.proxy.runner import ProxyProcess, ServeOptions

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


class ResettingStandin(FaceStandin):
    """Resets (RST, before TLS) the first `resets` new connections, as a Face front end that is
    being replaced or a path that drops a SYN-ACK does: no byte of any request reaches it."""

    def __init__(self, *args, resets: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.resets = resets

    def _serve(self, raw_conn):
        import socket
        import struct

        with self._lock:
            reset, self.resets = self.resets > 0, max(0, self.resets - 1)
        if reset:
            raw_conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            raw_conn.close()
            return
        super()._serve(raw_conn)


class SingleTryProxy(ProxyProcess):
    """The configuration before the retry: one server entry, proxy_next_upstream off."""

    def render(self, runtime_dir):
        lines = super().render(runtime_dir).splitlines()
        text = "\n".join(line for line in lines if not line.strip().endswith(" backup;")) + "\n"
        return text.replace("proxy_next_upstream error timeout;", "proxy_next_upstream off;")


def _post_through(kind, face: ResettingStandin, pki, tmp_path) -> list[int | None]:
    options = ServeOptions(listen=f"{LOOPBACK}:{free_port()}", health_listen=f"{LOOPBACK}:{free_port()}",
                           face_address=face.address, trusted_ca=str(pki.ca.cert_path))
    process = kind(settings(cpu=1.0), options, stdout=open(tmp_path / "out.log", "wb"),
                   stderr=open(tmp_path / "err.log", "wb")).start()
    try:
        statuses = []
        for _ in range(5):
            face.resets = 1          # the next new connection fails before TLS
            statuses.append(exchange(LOOPBACK, process.listen_port,
                                     build_request("POST", ROUTE, [], b'{"n":1}'), timeout=10).status)
            # Fresh connection for every request: the proxy must open a new one to Face.
            time.sleep(0.3)
        return statuses
    finally:
        process.stop()


def test_a_connect_that_fails_before_any_byte_is_retried_once(pki, tmp_path) -> None:
    with ResettingStandin(LOOPBACK, 0, pki.face_cert, pki.face_key, resets=0,
                          idle_close=lambda: 0.05) as face:
        statuses = _post_through(ProxyProcess, face, pki, tmp_path)
        print(f"\nretry on: {statuses.count(502)} x 502 of 5 posts whose first connect was reset")
        assert statuses == [200] * 5
        assert len(face.records) == 5, "each POST reached Face exactly once"


def test_control_without_the_retry_a_reset_connect_is_a_502(pki, tmp_path) -> None:
    with ResettingStandin(LOOPBACK, 0, pki.face_cert, pki.face_key, resets=0,
                          idle_close=lambda: 0.05) as face:
        statuses = _post_through(SingleTryProxy, face, pki, tmp_path)
        print(f"\nretry off: {statuses.count(502)} x 502 of 5")
        assert statuses.count(502) == 5
        assert face.records == []
