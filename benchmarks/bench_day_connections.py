"""The production-day scenarios about connections (the others are benchmarks/bench_day.py):

* stale reuse: Face closes a pooled connection as the next request is sent on it (a stand-in that
  answers the first request of each connection and resets it when the next one arrives, before
  reading a byte of it); the figure is the 502s among sequential requests;
* connection flood: one address (127.0.0.2) opens thousands of connections, half idle and half
  with a started request head; the figure is how many requests of another client (127.0.0.1) get
  answered meanwhile.

Everything is loopback, bounded in time (socket timeouts, deadlines) and cleaned up.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import threading
import time
from collections import Counter
from pathlib import Path

from proxykit.rawhttp import recv_until

FLOOD_SOURCE = "127.0.0.2"   # the greedy client's address; the other client is 127.0.0.1


class ResetOnReuse:
    """A TLS stand-in for Face that answers the first request of every connection, then resets
    the connection as soon as the next request on it arrives, without reading any of it: Face (or
    anything between) closing a pooled connection just as the proxy sends on it."""

    RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
                b'{"status":"ok"}')

    def __init__(self, cert: Path, key: Path, close_after_answer: bool = False):
        # close_after_answer: close (FIN) right after each first answer instead, so the proxy's
        # next request on the connection races Face's close: no byte of it can reach Face.
        self.close_after_answer = close_after_answer
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.resets = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        conn = raw
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
            data = recv_until(conn, b"\r\n\r\n", 65536)
            if b"\r\n\r\n" not in data:
                return
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                more = conn.recv(65536)
                if not more:
                    return
                body += more
            conn.sendall(self.RESPONSE)
            if self.close_after_answer:
                self.resets += 1
                return
            readable, _, _ = select.select([conn], [], [], 30)
            if readable:  # the next request is arriving: reset without reading it
                self.resets += 1
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def post_statuses(port: int, route: str, requests: int, pause: float, timeout: float = 10.0) -> Counter:
    """`requests` sequential 6 KB POSTs from 127.0.0.1 (a fresh connection each), `pause` s apart:
    how many got each status (0: no answer)."""
    statuses: Counter = Counter()
    body = os.urandom(6 * 1024)
    for _ in range(requests):
        status = 0
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            conn.request("POST", route, body=body,
                         headers={"Content-Type": "application/octet-stream"})
            status = conn.getresponse().status
            conn.close()
        except (OSError, http.client.HTTPException):
            pass
        statuses[status] += 1
        time.sleep(pause)
    return statuses


def stale_reuse(port: int, route: str, requests: int, pause: float = 0.05) -> dict:
    """`requests` sequential 6 KB POSTs (a fresh client connection each) through the proxy."""
    statuses = post_statuses(port, route, requests, pause)
    return {"requests": requests, "502": statuses.get(502, 0), "ok": statuses.get(200, 0),
            "statuses": dict(statuses)}


def _open_from_flood_source(port: int) -> socket.socket | None:
    """A non-blocking connection to the proxy from FLOOD_SOURCE, under way; None if none can be opened."""
    sock = socket.socket()
    sock.setblocking(False)
    try:
        sock.bind((FLOOD_SOURCE, 0))
        sock.connect_ex(("127.0.0.1", port))
    except OSError:
        sock.close()
        return None
    return sock


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.send(data)
    except OSError:
        pass


def _open_flood(port: int, connections: int, partial: bytes, held: list[socket.socket]) -> None:
    """Up to `connections` from FLOOD_SOURCE into `held` (so the caller closes them whatever happens),
    connected (or failed) within 3 s; every second one has sent the start of a request head."""
    for _ in range(connections):
        sock = _open_from_flood_source(port)
        if sock is None:
            break
        held.append(sock)
    poller = select.poll()  # select() cannot watch descriptors above 1023
    for sock in held:
        poller.register(sock, select.POLLOUT)
    pending, deadline = len(held), time.monotonic() + 3
    while pending and time.monotonic() < deadline:  # connected (or failed) before the probes
        for fd, _event in poller.poll(200):
            poller.unregister(fd)
            pending -= 1
    for i, sock in enumerate(held):
        if i % 2:
            _send_quietly(sock, partial)


def _still_open(held: list[socket.socket]) -> int:
    """How many of the flood's connections the proxy has not closed."""
    still_open = 0
    for sock in held:
        try:
            if sock.recv(1, socket.MSG_PEEK) == b"":
                continue  # closed by the proxy
        except BlockingIOError:
            pass  # open, nothing to read
        except OSError:
            continue
        still_open += 1
    return still_open


def connection_flood(port: int, route: str, connections: int, probes: int,
                     probe_timeout: float = 2.0) -> dict:
    """`connections` from FLOOD_SOURCE (half idle, half with a started request head) held open,
    and more opened, while another client sends `probes` requests; how many of those were
    answered (any status) and how many 200."""
    partial = f"POST {route} HTTP/1.1\r\nHost: bench\r\n".encode()
    held: list[socket.socket] = []
    try:
        _open_flood(port, connections, partial, held)
        time.sleep(0.3)
        # The greedy client keeps opening connections (each with a started head) while the
        # other client's requests go through: the proxy must make room without dropping those.
        stop_opening = threading.Event()

        def keep_opening() -> None:
            for _ in range(connections // 2):
                if stop_opening.is_set():
                    return
                sock = _open_from_flood_source(port)
                if sock is None:
                    return
                held.append(sock)
                time.sleep(0.002)
                _send_quietly(sock, partial)

        opener = threading.Thread(target=keep_opening, daemon=True)
        opener.start()
        statuses = post_statuses(port, route, probes, 0.05, probe_timeout)
        stop_opening.set()
        opener.join(10)
        still_open = _still_open(held)
    finally:
        for sock in held:
            sock.close()
    answered = sum(n for status, n in statuses.items() if status)
    return {"flood": len(held), "probes": probes, "answered": answered,
            "ok": statuses.get(200, 0), "statuses": dict(statuses),
            "flood_still_open": still_open}
