"""The client IP (rate-limit key and access log) is the right-most X-Forwarded-For entry, the one
the ingress appends, whichever trusted address the ingress connects from; nothing a client writes
into X-Forwarded-For changes its key."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from proxykit.harness import RunningProxy, settings
from proxykit.rawhttp import build_request, read_status
from proxykit.standin import FaceStandin

ROUTE = "/face/v1.2/session/start"
HERE = Path(__file__).resolve().parent


def send(proxy: RunningProxy, headers: list[tuple[str, str]], source: str = "127.0.0.1",
         body: bytes | None = None) -> int:
    """One request from ``source``; a given ``body`` is sent as is, without a Content-Length."""
    request = build_request("POST", ROUTE, headers, b"{}") if body is None else \
        build_request("POST", ROUTE, headers, content_length=False) + body
    with socket.create_connection((proxy.host, proxy.port), timeout=10,
                                  source_address=(source, 0)) as sock:
        sock.sendall(request)
        return read_status(sock)


@pytest.fixture(scope="module")
def limited(proxy_factory, standin: FaceStandin) -> RunningProxy:
    """Burst 3 at 1 r/s; the ingress stand-in is any loopback peer (127.0.0.0/8 trusted)."""
    return proxy_factory(settings(rate_limit_per_second=1, rate_limit_burst=3,
                                  trusted_proxy_cidrs=("127.0.0.0/8",)), standin.address)


def log_entries(proxy: RunningProxy, client_ip: str, count: int) -> list[dict]:
    """The access-log entries of `client_ip`, once `count` of them are written (the log is
    buffered for up to a second)."""
    entries = proxy.access_log_entries(until=lambda es: sum(e["client_ip"] == client_ip
                                                            for e in es) >= count)
    return [e for e in entries if e["client_ip"] == client_ip]


def test_client_written_entries_never_change_the_key(limited: RunningProxy,
                                                     upstream: FaceStandin) -> None:
    """The ingress appends the client's address; whatever the client put before it (random
    addresses, trusted-range addresses, garbage) the key stays the appended one."""
    written = ["192.0.2.1", "100.100.0.9", "127.0.0.1", "10.40.0.5, 192.0.2.8", "unknown",
               "2001:db8::1", "192.0.2.9", "192.0.2.10"]
    statuses = [send(limited, [("X-Forwarded-For", f"{prefix}, 203.0.113.50")]) for prefix in written]
    assert statuses[:4] == [200] * 4 and statuses[-3:] == [429] * 3, statuses
    entries = log_entries(limited, "203.0.113.50", len(written))
    assert len(entries) == len(written)


def test_a_second_forwarded_for_header_is_not_a_way_around(limited: RunningProxy,
                                                           upstream: FaceStandin) -> None:
    """If the client's own header arrives as a separate line before the ingress's, the ingress's
    (last) one still decides."""
    statuses = [send(limited, [("X-Forwarded-For", f"192.0.2.{i}"),
                               ("X-Forwarded-For", "203.0.113.51")]) for i in range(8)]
    assert statuses[:4] == [200] * 4 and statuses[-3:] == [429] * 3, statuses
    assert len(log_entries(limited, "203.0.113.51", 8)) == 8
    assert not any(e["client_ip"].startswith("192.0.2.")
                   for e in limited.access_log_entries(until=lambda es: True))


def test_the_key_ignores_which_ingress_address_connects(limited: RunningProxy,
                                                        upstream: FaceStandin) -> None:
    """Two ingress instances (127.0.0.2 and 127.0.0.3) forwarding the same client share its
    allowance; the peer address is logged, not used as the key."""
    statuses = [send(limited, [("X-Forwarded-For", "203.0.113.52")], source=f"127.0.0.{2 + i % 2}")
                for i in range(8)]
    assert statuses[:4] == [200] * 4 and statuses[-3:] == [429] * 3, statuses
    peers = {e["peer_ip"] for e in log_entries(limited, "203.0.113.52", 8)}
    assert peers == {"127.0.0.2", "127.0.0.3"}


def _netns_prefix() -> list[str] | None:
    unshare = shutil.which("unshare")
    if not unshare or not shutil.which("ip") or os.geteuid() != 0:
        return None
    probe = subprocess.run([unshare, "-n", "true"], capture_output=True, timeout=10)
    return [unshare, "-n"] if probe.returncode == 0 else None


def run_in_namespace(mode: str) -> dict:
    prefix = _netns_prefix()
    if prefix is None:
        pytest.skip("needs root and unshare(1) to make a private network namespace with 100.100.x "
                    "addresses on its own loopback; the loopback tests above cover the key logic")
    result = subprocess.run([*prefix, sys.executable, str(HERE / "netns_ingress.py"), mode],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


def test_ingress_connecting_from_platform_addresses(tmp_path: Path) -> None:
    """In a namespace of its own, the ingress stand-in connects from 100.100.0.5 and
    100.100.160.9 (workload-profiles platform ranges), an untrusted peer from 198.51.100.10."""
    got = run_in_namespace("default")
    assert got["spoofed"][:4] == [200] * 4 and got["spoofed"][-3:] == [429] * 3, got["spoofed"]
    assert got["other"] == [200, 200], "another client behind the ingress has its own allowance"
    assert got["direct"][:4] == [200] * 4 and got["direct"][-3:] == [429] * 3, got["direct"]
    pairs = {(e["client_ip"], e["peer_ip"]) for e in got["log"]}
    assert pairs == {("203.0.113.7", "100.100.0.5"), ("203.0.113.7", "100.100.160.9"),
                     ("198.51.100.23", "100.100.0.5"), ("198.51.100.10", "198.51.100.10")}


def test_trusting_only_the_apps_subnet_puts_everyone_in_one_bucket() -> None:
    """Control, the configuration this replaced: with only the apps subnet trusted, an ingress on
    a platform address is the key for every client (the second client is refused)."""
    got = run_in_namespace("apps-subnet-only")
    assert got["other"] == [429, 429]
    assert {e["client_ip"] for e in got["log"] if e["peer_ip"].startswith("100.100.")} == \
        {"100.100.0.5", "100.100.160.9"}


def test_chunked_requests_count_against_the_same_allowance(limited: RunningProxy,
                                                           upstream: FaceStandin) -> None:
    """Chunked bodies take their own (named) location; the limit applies there too, and a 429
    is answered before the body is read or Face is contacted."""
    statuses = [send(limited, [("X-Forwarded-For", "203.0.113.53"), ("Transfer-Encoding", "chunked")],
                     body=b"2\r\n{}\r\n0\r\n\r\n") for _ in range(8)]
    assert statuses[:4] == [200] * 4 and statuses[-3:] == [429] * 3, statuses
    assert len([r for r in upstream.records if r.body == b"{}"]) == statuses.count(200)
