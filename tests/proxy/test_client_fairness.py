"""One client cannot starve the others: a client IP has at most its share of requests in flight
(429 past it, the error log names the zone), and while one address holds more idle
connections than a worker has slots and its share of slow uploads, another client's requests keep getting answered.
The control renders the same configuration without the per-client cap."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from proxykit.harness import LOOPBACK, free_port, settings
from proxykit.rawhttp import build_request, exchange, status_if_answered
from proxykit.standin import FaceStandin

from components.proxy_settings import proxy_limits
from infra.proxy.runner import ProxyProcess, ServeOptions

ROUTE = "/face/v1.2/session/start"
SIZED = settings(memory="0.5Gi", cpu=1.0, client_timeout_seconds=20, upstream_timeout_seconds=20)
LIMITS = proxy_limits(SIZED)
GREEDY, OTHER = "203.0.113.50", "198.51.100.77"
EXTRA = 10          # uploads the greedy client opens beyond its share
IDLE_FLOOD = 2500   # idle connections from one address, more than the worker has slots (bounded)


class UncappedProxy(ProxyProcess):
    def render(self, runtime_dir: Path) -> str:
        return "\n".join(line for line in super().render(runtime_dir).splitlines()
                         if "limit_conn liveness_inflight_per_client" not in line) + "\n"


@pytest.fixture()
def face(pki):
    with FaceStandin(LOOPBACK, 0, pki.face_cert, pki.face_key) as server:
        yield server


def _start(kind: type[ProxyProcess], face: FaceStandin, pki, tmp_path: Path) -> ProxyProcess:
    options = ServeOptions(listen=f"{LOOPBACK}:{free_port()}", health_listen=f"{LOOPBACK}:{free_port()}",
                           face_address=face.address, trusted_ca=str(pki.ca.cert_path))
    out, err = open(tmp_path / "out.log", "wb"), open(tmp_path / "err.log", "wb")
    return kind(SIZED, options, stdout=out, stderr=err).start()


def _slow_upload(proxy: ProxyProcess, client_ip: str) -> socket.socket:
    """A Content-Length upload that sends its head and 10 of 1,000 body bytes, then stalls."""
    sock = socket.create_connection((LOOPBACK, proxy.listen_port), timeout=5)
    sock.sendall(build_request("POST", ROUTE, [("Content-Length", "1000"), ("X-Forwarded-For", client_ip)],
                               content_length=False) + b"x" * 10)
    return sock



def _greedy_and_other(proxy: ProxyProcess) -> tuple[list[int | None], list[int | None], int]:
    idle = []
    for _ in range(IDLE_FLOOD):
        sock = socket.socket()
        sock.bind(("127.0.0.2", 0))
        sock.connect((LOOPBACK, proxy.listen_port))
        idle.append(sock)
    uploads = [_slow_upload(proxy, GREEDY) for _ in range(LIMITS.requests_per_client + EXTRA)]
    time.sleep(0.3)
    greedy = [status_if_answered(s, 0.1) for s in uploads]
    other = [exchange(LOOPBACK, proxy.listen_port,
                      build_request("POST", ROUTE, [("X-Forwarded-For", OTHER)], b"{}"), timeout=5).status
             for _ in range(20)]
    for sock in idle + uploads:
        sock.close()
    return greedy, other, len(idle)


def test_one_client_cannot_starve_the_others(face, pki, tmp_path) -> None:
    proxy = _start(ProxyProcess, face, pki, tmp_path)
    try:
        greedy, other, idle = _greedy_and_other(proxy)
        print(f"\ncapped: greedy client {greedy.count(None)} held, {greedy.count(429)} x 429; "
              f"other client {other.count(200)}/20 answered while {idle} idle connections were open")
        assert greedy.count(None) == LIMITS.requests_per_client
        assert greedy.count(429) == EXTRA
        assert other == [200] * 20
        assert IDLE_FLOOD > LIMITS.worker_connections
        # Out of slots, nginx closes idle connections (the flood's) to accept new ones.
        assert "reusing connections" in (tmp_path / "err.log").read_text()
        assert 'limiting connections by zone "liveness_inflight_per_client"' in \
            (tmp_path / "err.log").read_text()
    finally:
        proxy.stop()


def test_control_without_the_cap_one_client_holds_every_request_it_opens(face, pki, tmp_path) -> None:
    proxy = _start(UncappedProxy, face, pki, tmp_path)
    try:
        greedy, _other, _idle = _greedy_and_other(proxy)
        assert greedy.count(None) == LIMITS.requests_per_client + EXTRA
        assert greedy.count(429) == 0
    finally:
        proxy.stop()
