"""The production-day figures of `benchmarks/proxy_bench.py`: what a busy day does to a replica.

Each scenario drives one proxy on 127.0.0.1 (the shipped configuration, or the HAProxy peer) and
returns plain numbers; `bench_figures.summarise_day` turns the rounds into medians with spread.

* upload flood: one client holds N slow chunked uploads at once (each near the body cap, trickled
  in 64 KiB chunks, the final chunk held back until every upload has sent its body); the figure
  is the peak RSS of all the proxy's processes together (what the replica's memory limit counts);
* drain: the container's own declared command (components/proxy_app.py, read from the dev stack's
  offline evaluation; only the mount path points at a local copy of the mounted files) runs the
  locally rendered config; uploads (each from its own loopback address) are in flight when the
  command gets SIGTERM, as Container Apps sends on scale-in or a new revision; the figure is how
  many of them got their answer;
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
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable

from bench_procs import preexec, rss_kb, wait_port
from proxykit.rawhttp import recv_until

CHUNK = 64 * 1024
FLOOD_SOURCE = "127.0.0.2"   # the greedy client's address; the other client is 127.0.0.1


class PeakRss:
    """Samples the summed RSS of `pids()` every few ms until stopped; `peak_mb` is the maximum."""

    def __init__(self, pids: Callable[[], list[int]], every: float = 0.01):
        self.pids, self.every = pids, every
        self.peak_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for pid in self.pids():
            try:
                total += rss_kb(pid)
            except OSError:
                pass
        return total

    def _run(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, self._sample())
            time.sleep(self.every)

    def __enter__(self) -> "PeakRss":
        self.start_kb = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(5)

    @property
    def peak_mb(self) -> float:
        return round(self.peak_kb / 1024, 1)


def _status_of(sock: socket.socket, timeout: float) -> int:
    """The status code of the response on `sock`; 0 when the connection ends without one."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            more = sock.recv(4096)
            if not more:
                break
            data += more
    except OSError:
        pass
    if data.startswith(b"HTTP/1.") and len(data) >= 12:
        try:
            return int(data[9:12])
        except ValueError:
            return 0
    return 0


def _head(route: str, extra: str) -> bytes:
    return (f"POST {route} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream\r\n"
            f"{extra}Connection: close\r\n\r\n").encode()


def upload_flood(port: int, pids: Callable[[], list[int]], route: str, uploads: int,
                 body_bytes: int, seconds: float) -> dict:
    """`uploads` chunked uploads of `body_bytes` each from one client, trickled over `seconds`."""
    socks: list[socket.socket | None] = []
    statuses: Counter = Counter()
    chunk_frame = f"{CHUNK:x}\r\n".encode() + b"\xab" * CHUNK + b"\r\n"
    rounds = max(1, body_bytes // CHUNK)
    pause = seconds / rounds
    with PeakRss(pids) as rss:
        for _ in range(uploads):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(_head(route, "Transfer-Encoding: chunked\r\n"))
            except OSError:  # not even let in: counted as no answer
                statuses[0] += 1
                continue
            socks.append(sock)
        for _ in range(rounds):
            for i, held in enumerate(socks):
                if held is None:
                    continue
                try:
                    held.sendall(chunk_frame)
                except OSError:  # refused early (an answer may be waiting): stop sending on it
                    statuses[_status_of(held, 1)] += 1
                    held.close()
                    socks[i] = None
            time.sleep(pause)
        time.sleep(0.3)  # every body is in; the peak is held here
        for held in socks:
            if held is None:
                continue
            try:
                held.sendall(b"0\r\n\r\n")
            except OSError:
                pass
        for held_sock in socks:
            if held_sock is not None:
                statuses[_status_of(held_sock, 10)] += 1
                held_sock.close()
    return {"uploads": uploads, "body_mb": round(body_bytes / 2**20, 1),
            "rss_start_mb": round(rss.start_kb / 1024, 1), "peak_rss_mb": rss.peak_mb,
            "statuses": dict(statuses)}


def materialise(container: dict, app_files: dict[str, str], local_mount: Path) -> list[str]:
    """The container's command + args with its mount path pointing at `local_mount`, where each
    mounted file (name → text) is written. Nothing else of the declaration changes."""
    mount = container["volumeMounts"][0]["mountPath"]
    local_mount.mkdir(parents=True, exist_ok=True)
    for name, text in app_files.items():
        (local_mount / name).write_text(text)
        (local_mount / name).chmod(0o755 if text.startswith("#!") else 0o644)
    return [part.replace(mount, str(local_mount))
            for part in list(container.get("command") or []) + list(container.get("args") or [])]


def drain(argv: list[str], nginx_dir: str, port: int, health_port: int, route: str,
          uploads: int, body_bytes: int, seconds: float, stop_after: float,
          exit_timeout: float = 40.0, cpus: set[int] | None = None) -> dict:
    """Start `argv` (the container's command), put `uploads` Content-Length uploads in flight,
    SIGTERM the command `stop_after` seconds in, and count the uploads answered 200."""
    env = dict(os.environ, PATH=f"{nginx_dir}:{os.environ.get('PATH', '')}")
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True,
                            preexec_fn=preexec(cpus))
    results: Counter = Counter()
    lock = threading.Lock()
    try:
        wait_port(health_port, proc)
        started = threading.Barrier(uploads + 1)

        def one(number: int) -> None:
            status = 0
            try:
                # Each upload from its own loopback address: a per-client cap must not be what
                # turns an upload away here.
                with socket.create_connection(("127.0.0.1", port), timeout=10,
                                              source_address=(f"127.0.1.{number + 1}", 0)) as sock:
                    sock.sendall(_head(route, f"Content-Length: {body_bytes}\r\n"))
                    started.wait(5)
                    sent, pause = 0, seconds / max(1, body_bytes // CHUNK)
                    while sent < body_bytes:
                        part = min(CHUNK, body_bytes - sent)
                        sock.sendall(b"\xcd" * part)
                        sent += part
                        time.sleep(pause)
                    status = _status_of(sock, 15)
            except (OSError, threading.BrokenBarrierError):
                status = 0
            with lock:
                results[status] += 1

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(uploads)]
        for thread in threads:
            thread.start()
        started.wait(5)
        time.sleep(stop_after)
        stopped_at = time.monotonic()
        if proc.poll() is not None:
            raise RuntimeError(f"the container's command {argv!r} exited with {proc.returncode} "
                               "before the stop signal")
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        health = "refused"
        try:
            conn = http.client.HTTPConnection("127.0.0.1", health_port, timeout=1)
            conn.request("GET", "/healthz")
            health = str(conn.getresponse().status)
            conn.close()
        except OSError:
            pass
        for thread in threads:
            thread.join(seconds + 20)
        try:
            proc.wait(exit_timeout)
            exit_s = round(time.monotonic() - stopped_at, 1)
        except subprocess.TimeoutExpired:
            exit_s = None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    return {"in_flight": uploads, "completed": results.get(200, 0),
            "cut": results.get(0, 0), "statuses": dict(results),
            "health_after_stop": health, "exit_seconds": exit_s}


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
