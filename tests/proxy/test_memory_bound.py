"""Memory is bounded by configuration: chunked bodies (read whole into memory so the body cap holds
before Face sees a byte) are capped per client and per replica; past a cap the client gets 429 and
the error log says which zone refused it. The control renders the same configuration without the
caps and shows a flood of slow chunked uploads is all held in memory."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from proxykit.harness import LOOPBACK, free_port, settings
from proxykit.rawhttp import status_if_answered
from proxykit.standin import FaceStandin

from components.proxy_settings import chunked_body_bytes, proxy_limits
from infra.proxy.runner import ProxyProcess, ServeOptions

ROUTE = "/face/v1.2/detectLiveness/singleModal"
BODY_CAP = 1024 * 1024
# 0.5 GiB and 1 worker: 19 chunked bodies buffered at once per replica, 4 per client.
SIZED = settings(memory="0.5Gi", cpu=1.0, max_body_bytes=BODY_CAP, client_timeout_seconds=20)
LIMITS = proxy_limits(SIZED)
SENT = 1_000_000      # body bytes each held upload sends before it stalls (under the cap)


class UncappedProxy(ProxyProcess):
    """Today's configuration before the caps: the same render without the chunked limit_conn."""

    def render(self, runtime_dir: Path) -> str:
        return "\n".join(line for line in super().render(runtime_dir).splitlines()
                         if "limit_conn liveness_chunked" not in line) + "\n"


def _start(kind: type[ProxyProcess], face: FaceStandin, pki, tmp_path: Path) -> ProxyProcess:
    options = ServeOptions(listen=f"{LOOPBACK}:{free_port()}", health_listen=f"{LOOPBACK}:{free_port()}",
                           face_address=face.address, trusted_ca=str(pki.ca.cert_path))
    out = open(tmp_path / f"{kind.__name__}.out", "wb")
    err = open(tmp_path / f"{kind.__name__}.err", "wb")
    return kind(SIZED, options, stdout=out, stderr=err).start()


def _rss_bytes(proxy: ProxyProcess) -> int:
    total = 0
    for pid in [proxy.pid, *proxy.worker_pids()]:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def _hold_chunked(proxy: ProxyProcess, client_ip: str) -> socket.socket:
    """A chunked upload that sends SENT bytes in 16 KiB chunks and then stalls."""
    sock = socket.create_connection((LOOPBACK, proxy.listen_port), timeout=5)
    head = (f"POST {ROUTE} HTTP/1.1\r\nHost: liveness.example.test\r\nX-Forwarded-For: {client_ip}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
    last = SENT % 0x4000
    data = chunk * (SENT // 0x4000) + f"{last:x}\r\n".encode() + b"x" * last + b"\r\n"
    try:
        sock.sendall(head + data)
    except OSError:
        pass   # refused with 429 and closed while we were still sending
    return sock



def _flood(proxy: ProxyProcess, clients: list[str]) -> tuple[list[socket.socket], list[int | None], int]:
    before = _rss_bytes(proxy)
    socks = [_hold_chunked(proxy, ip) for ip in clients]
    time.sleep(0.5)
    grown = _rss_bytes(proxy) - before
    return socks, [status_if_answered(s, 0.2) for s in socks], grown


@pytest.fixture()
def face(pki):
    with FaceStandin(LOOPBACK, 0, pki.face_cert, pki.face_key) as server:
        yield server


def test_chunked_bodies_past_the_replica_cap_get_429_and_memory_stays_bounded(face, pki, tmp_path) -> None:
    flood = LIMITS.chunked_total * 3
    proxy = _start(ProxyProcess, face, pki, tmp_path)
    try:
        socks, statuses, grown = _flood(proxy, [f"198.51.100.{i + 1}" for i in range(flood)])
        held = [s for s, status in zip(socks, statuses) if status is None]
        print(f"\ncapped: {flood} slow chunked uploads -> {len(held)} held, "
              f"{statuses.count(429)} x 429; RSS grew {grown / 2**20:.1f} MiB")
        assert len(held) == LIMITS.chunked_total
        assert statuses.count(429) == flood - LIMITS.chunked_total
        assert grown <= LIMITS.chunked_total * chunked_body_bytes(SIZED)
        assert grown <= (LIMITS.chunked_total + 4) * SENT * 1.5, "memory follows what is held"
        # Held uploads stay legitimate: finishing one forwards it whole.
        held[0].sendall(b"0\r\n\r\n")
        assert status_if_answered(held[0], 5) == 200
        for sock in socks:
            sock.close()
        error_log = (tmp_path / "ProxyProcess.err").read_text()
        assert 'limiting connections by zone "liveness_chunked_replica"' in error_log
        assert any(r.body == b"x" * SENT for r in face.records)
    finally:
        proxy.stop()


def test_one_client_holds_at_most_its_share_of_chunked_bodies(face, pki, tmp_path) -> None:
    proxy = _start(ProxyProcess, face, pki, tmp_path)
    try:
        socks, statuses, _grown = _flood(proxy, ["203.0.113.9"] * (LIMITS.chunked_per_client + 3))
        assert statuses.count(None) == LIMITS.chunked_per_client
        assert statuses.count(429) == 3
        other = _hold_chunked(proxy, "203.0.113.10")
        assert status_if_answered(other, 0.3) is None, "another client's chunked upload is still accepted"
        for sock in [*socks, other]:
            sock.close()
        assert 'zone "liveness_chunked_per_client"' in (tmp_path / "ProxyProcess.err").read_text()
    finally:
        proxy.stop()


def test_control_without_the_caps_every_slow_chunked_upload_is_held_in_memory(face, pki, tmp_path) -> None:
    flood = LIMITS.chunked_total * 3
    proxy = _start(UncappedProxy, face, pki, tmp_path)
    try:
        socks, statuses, grown = _flood(proxy, [f"198.51.100.{i + 1}" for i in range(flood)])
        print(f"\nuncapped: {flood} slow chunked uploads -> {statuses.count(None)} held; "
              f"RSS grew {grown / 2**20:.1f} MiB")
        assert statuses.count(None) == flood
        assert grown > LIMITS.chunked_total * SENT * 2, "the flood's bodies are all in memory"
        for sock in socks:
            sock.close()
    finally:
        proxy.stop()
