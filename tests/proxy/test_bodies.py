"""Request bodies: chunked bodies accepted up to the cap with the same payload, nothing of a body
over the cap reaches Face, smuggling shapes refused, and no body ever touches the disk."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from proxykit.harness import RunningProxy, settings
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin
from proxykit.tempwatch import TempWatch, temp_directories

ROUTE = "/face/v1.2/detectLiveness/singleModal"
CAP = 256 * 1024


def chunked_request(chunks: list[bytes], *, extension: bytes = b"", trailer: bytes = b"",
                    headers: list[str] | None = None) -> list[bytes]:
    """Head and chunks as separate pieces, so they can be sent with pauses in between."""
    head = (f"POST {ROUTE} HTTP/1.1\r\nHost: liveness.example.test\r\n"
            + "".join(h + "\r\n" for h in headers or [])
            + "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    pieces = [head]
    pieces += [f"{len(c):x}".encode() + extension + b"\r\n" + c + b"\r\n" for c in chunks]
    pieces.append(b"0\r\n" + trailer + b"\r\n")
    return pieces


def split(payload: bytes, size: int) -> list[bytes]:
    return [payload[i:i + size] for i in range(0, len(payload), size)]


@pytest.fixture(scope="module")
def capped(proxy_factory, standin: FaceStandin) -> RunningProxy:
    """A proxy with a 256 KiB body cap, so cap-sized bodies are quick."""
    return proxy_factory(settings(max_body_bytes=CAP), standin.address)


@pytest.mark.parametrize("chunk_size", [CAP, 16 * 1024, 1000, 7])
def test_chunked_body_reaches_face_with_the_same_payload(capped: RunningProxy, upstream: FaceStandin,
                                                         chunk_size: int) -> None:
    payload = os.urandom(40_000)
    sent = b"".join(chunked_request(split(payload, chunk_size), headers=["Authorization: Bearer c"]))
    result = exchange(capped.host, capped.port, sent, timeout=20)
    assert result.status == 200
    assert len(upstream.records) == 1
    got = upstream.records[0]
    assert got.body == payload
    # Read whole, then forwarded with a length: Face gets no chunk framing to disagree about.
    assert got.header("content-length") == [str(len(payload)).encode()]
    assert got.header("transfer-encoding") == []
    assert got.header("authorization") == [b"Bearer c"]


def test_chunk_extensions_and_trailers_do_not_reach_face(capped: RunningProxy,
                                                         upstream: FaceStandin) -> None:
    payload = b'{"livenessOperationMode":"Passive"}'
    sent = b"".join(chunked_request(split(payload, 5), extension=b";name=value",
                                    trailer=b"X-Trailer: smuggled\r\n"))
    assert exchange(capped.host, capped.port, sent).status == 200
    got = upstream.records[0]
    assert got.body == payload and got.header("x-trailer") == []


def test_slow_chunks_reach_face_whole_after_the_last_one(capped: RunningProxy,
                                                         upstream: FaceStandin) -> None:
    payload = os.urandom(5000)
    pieces = chunked_request(split(payload, 1000))
    started = time.monotonic()
    result = exchange(capped.host, capped.port, pieces, pause=0.3, timeout=20)
    assert result.status == 200
    got = upstream.records[0]
    assert got.body == payload
    last_piece_sent = started + 0.3 * (len(pieces) - 1)
    assert got.received_at >= last_piece_sent - 0.05, "Face saw the body before the client finished it"


def test_chunked_body_of_exactly_the_cap(capped: RunningProxy, upstream: FaceStandin) -> None:
    payload = os.urandom(CAP)
    result = exchange(capped.host, capped.port, b"".join(chunked_request(split(payload, 4096))),
                      timeout=20)
    assert result.status == 200
    assert upstream.records[0].body == payload


@pytest.mark.parametrize("chunk_size", [CAP + 1, 4096])
def test_nothing_of_a_chunked_body_over_the_cap_reaches_face(capped: RunningProxy,
                                                             upstream: FaceStandin,
                                                             chunk_size: int) -> None:
    payload = os.urandom(CAP + 1)
    result = exchange(capped.host, capped.port, b"".join(chunked_request(split(payload, chunk_size))),
                      timeout=20)
    assert result.status == 413
    time.sleep(0.2)
    assert upstream.records == [] and upstream.tls_connections == 0


def test_slow_chunked_body_over_the_cap_reaches_nothing(capped: RunningProxy,
                                                        upstream: FaceStandin) -> None:
    pieces = chunked_request(split(os.urandom(CAP + 64 * 1024), 64 * 1024))
    result = exchange(capped.host, capped.port, pieces, pause=0.2, timeout=20)
    assert result.status == 413
    time.sleep(0.2)
    assert upstream.records == [] and upstream.tls_connections == 0


SMUGGLING = {
    "te-and-cl": (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", b"0\r\n\r\nGET / HTTP/1.1\r\n\r\n"),
    "te-gzip": (b"Transfer-Encoding: gzip\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
    "te-gzip-then-chunked": (b"Transfer-Encoding: gzip, chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
    "te-duplicate": (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                     b"5\r\nhello\r\n0\r\n\r\n"),
    "chunk-size-not-hex": (b"Transfer-Encoding: chunked\r\n", b"5g\r\nhello\r\n0\r\n\r\n"),
    "chunk-size-too-short": (b"Transfer-Encoding: chunked\r\n", b"3\r\nhello\r\n0\r\n\r\n"),
    "chunk-size-overflow": (b"Transfer-Encoding: chunked\r\n",
                            b"10000000000000000\r\nhello\r\n0\r\n\r\n"),
}


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_smuggling_shapes_are_refused_and_reach_nothing(main_proxy: RunningProxy,
                                                        upstream: FaceStandin, name: str) -> None:
    headers, body = SMUGGLING[name]
    sent = (f"POST {ROUTE} HTTP/1.1\r\nHost: x\r\n").encode() + headers + b"\r\n" + body
    result = exchange(main_proxy.host, main_proxy.port, sent, expect=2)
    assert result.status in (400, 501), result
    assert all(r.status in (400, 501) for r in result.responses)
    time.sleep(0.2)
    assert upstream.records == [] and upstream.tls_connections == 0


def _slow_reader(proxy: RunningProxy, request: bytes, pause: float, length: int) -> bytes:
    """Send, wait before reading (so nginx must hold the response), then read ``length`` body
    bytes; returns the body."""
    with socket.create_connection((proxy.host, proxy.port), timeout=20) as sock:
        sock.sendall(request)
        time.sleep(pause)
        data = bytearray()
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            data.extend(chunk)
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0 and len(data) - head_end - 4 >= length:
                break
        return bytes(data[data.find(b"\r\n\r\n") + 4:])


def test_no_body_is_ever_written_to_a_temp_file(capped: RunningProxy, upstream: FaceStandin) -> None:
    """inotify on every directory nginx may spool to, while request bodies of every size (both
    framings) and large responses to a client that reads late pass; plus nginx's own warning."""
    runtime = capped.runtime_dir
    sizes = [0, 1, 16 * 1024, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 200_000, CAP]
    with TempWatch(temp_directories(runtime)) as watch:
        for size in sizes:
            payload = os.urandom(size)
            assert exchange(capped.host, capped.port, build_request("POST", ROUTE, [], payload),
                            timeout=20).status == 200
            for chunk_size in (8192, 1):
                if chunk_size == 1 and size > 64 * 1024:
                    continue  # 1-byte chunks: the worst framing the ingress can produce
                pieces = chunked_request(split(payload, chunk_size)) if payload else chunked_request([])
                assert exchange(capped.host, capped.port, b"".join(pieces), timeout=30).status == 200
        # Far more than the proxy's response buffers and the loopback socket buffers can hold.
        big = os.urandom(24 * 1024 * 1024)
        upstream.respond = lambda _r: (b"HTTP/1.1 200 OK\r\nContent-Length: "
                                       + str(len(big)).encode() + b"\r\n\r\n" + big)
        answer = _slow_reader(capped, build_request("POST", ROUTE, [], b"{}"), 1.0, len(big))
        assert answer == big
        events = watch.collect()
    assert events == [], events
    assert "temporary file" not in capped.error_log()


def test_the_watch_sees_a_spooled_body(capped: RunningProxy, upstream: FaceStandin) -> None:
    """Control: framing far beyond anything the ingress sends (a 100-byte chunk extension per
    payload byte; only a client talking to nginx directly can do this) overflows the in-memory
    buffer, nginx spools, and the watch sees it. So the test above can fail."""
    runtime = capped.runtime_dir
    payload = os.urandom(CAP // 8)
    with TempWatch(temp_directories(runtime)) as watch:
        pieces = chunked_request(split(payload, 1), extension=b";" + b"x" * 100)
        assert len(b"".join(pieces)) > 6 * CAP + 64 * 1024, "must not fit the in-memory buffer"
        assert exchange(capped.host, capped.port, b"".join(pieces), timeout=30).status == 200
        events = watch.collect()
    assert any("nginx-liveness-client-body" in e for e in events), events
    assert upstream.records[0].body == payload


def _memory_kb(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(field + ":")))


def test_content_length_bodies_stream_through_a_worker(proxy_factory, standin: FaceStandin,
                                                       upstream: FaceStandin) -> None:
    """A 6 MB upload grows the worker's peak memory by far less than its size (≤ 16 MB)."""
    proxy = proxy_factory(settings(cpu=1.0), standin.address)
    assert exchange(proxy.host, proxy.port, build_request("POST", ROUTE, [], b"{}")).status == 200
    (worker,) = proxy.process.worker_pids()
    before = _memory_kb(worker, "VmRSS")
    body = os.urandom(6 * 1000 * 1000)
    assert exchange(proxy.host, proxy.port, build_request("POST", ROUTE, [], body),
                    timeout=30).status == 200
    growth_mb = (_memory_kb(worker, "VmHWM") - before) / 1024
    print(f"\nworker peak RSS growth for a 6 MB Content-Length body: {growth_mb:.1f} MB")
    assert upstream.records[-1].body == body
    assert growth_mb <= 16, growth_mb
