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
* stale reuse and connection flood: benchmarks/bench_day_connections.py.

Everything is loopback, bounded in time (socket timeouts, deadlines) and cleaned up.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable

from bench_procs import preexec, rss_kb, wait_port

CHUNK = 64 * 1024


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
