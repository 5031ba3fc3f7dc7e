"""The throughput and latency rounds of one mode (pinned or shared): direct, the shipped proxy and the
HAProxy peer interleaved, sampled at one connection and at the load; and the 6 MB streaming figure.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from bench_figures import MODES, TARGET_NAMES, Samples
from bench_procs import HAProxy, Upstream, cpu_seconds, pin_tree, rss_kb, run_wrk, run_wrk_windowed
from proxykit.harness import free_port
from bench_stack import ROUTE, dev_bench_settings
from haproxy_peer import PeerRun, render_haproxy_config
from proxykit.pki import CertFiles, TestCA
from proxykit.rawhttp import read_status

from infra.proxy.runner import ProxyProcess, ServeOptions

LEAD_IN = 1.0  # seconds of each run at the load before CPU and connections are sampled


def progress(message: str, args: argparse.Namespace) -> None:
    if not args.quiet:
        print(f"  … {message}", file=sys.stderr, flush=True)


def stream_big_body(port: int, size: int, seconds: float) -> int:
    """POST `size` bytes to the proxy, paced over about `seconds`; return the status code."""
    head = (f"POST {ROUTE} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
    chunk = b"\xab" * 65536
    pause = seconds / max(size // len(chunk), 1)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sent = 0
        while sent < size:
            part = chunk[: min(len(chunk), size - sent)]
            sock.sendall(part)
            sent += len(part)
            time.sleep(pause)
        return read_status(sock)


def measure_memory(workers: list[int], port: int) -> dict:
    """Peak RSS growth of `workers` while one 6 MB body streams through the proxy on `port`."""
    before = {pid: rss_kb(pid) for pid in workers}
    peak = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for pid in workers:
                try:
                    peak[pid] = max(peak[pid], rss_kb(pid))
                except OSError:
                    pass
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        status = stream_big_body(port, 6 * 1000 * 1000, 2.0)
    finally:
        done.set()
        sampler.join(5)
    growth_kb = max(peak[pid] - before[pid] for pid in workers)
    return {"status": status, "workers": len(workers),
            "rss_before_mb": round(max(before.values()) / 1024, 1),
            "rss_growth_mb": round(growth_kb / 1024, 2)}


def run_mode(mode: str, args: argparse.Namespace, work: Path, ca: TestCA, cert: CertFiles, nginx: str,
             haproxy_bin: str, script: Path, body: Path) -> tuple[dict[str, Samples], dict | None]:
    """All rounds of one mode; returns the samples per target (and the memory figures)."""
    all_cpus = set(os.sched_getaffinity(0))
    if mode == "pinned":
        first = min(all_cpus)
        proxy_cpus, other_cpus = {first}, all_cpus - {first}
    else:
        proxy_cpus = other_cpus = all_cpus
    wrk_threads = min(2, len(other_cpus))
    mode_dir = work / mode
    mode_dir.mkdir()
    upstream = Upstream(nginx, mode_dir, cert.cert, cert.key, other_cpus)
    haproxy = None
    settings, load, _container = dev_bench_settings(None if mode == "pinned" else len(proxy_cpus))
    proxy_port, health_port, peer_port = free_port(), free_port(), free_port()
    options = ServeOptions(listen=f"127.0.0.1:{proxy_port}", health_listen=f"127.0.0.1:{health_port}",
                           face_address=upstream.address, trusted_ca=str(ca.cert_path))
    samples = {name: Samples() for name in TARGET_NAMES}
    memory = None
    try:
        with open(os.devnull, "wb") as devnull, ProxyProcess(settings, options, stdout=devnull) as proxy:
            master = proxy.pid
            assert master is not None, "ProxyProcess is started by entering it"
            pin_tree(master, proxy_cpus)
            workers = proxy.worker_pids()
            peer_dir = mode_dir / "haproxy"
            peer_dir.mkdir()
            haproxy = HAProxy(haproxy_bin, render_haproxy_config(settings, PeerRun(
                listen=f"127.0.0.1:{peer_port}", upstream=upstream.address,
                ca_file=str(ca.cert_path), threads=len(workers))), peer_dir, peer_port, proxy_cpus)
            urls = {"direct": f"https://{upstream.address}{ROUTE}",
                    "shipped": f"http://127.0.0.1:{proxy_port}{ROUTE}",
                    "haproxy": f"http://127.0.0.1:{peer_port}{ROUTE}"}
            pids: dict[str, Callable[[], list[int]]] = {
                "shipped": lambda: [master] + proxy.worker_pids(), "haproxy": haproxy.pids}
            for url in urls.values():  # warm-up: caches hot
                run_wrk(url, 20, 1, 1, script, body, other_cpus)
            for round_no in range(args.rounds):
                order = TARGET_NAMES[round_no % 3:] + TARGET_NAMES[:round_no % 3]
                for name in order:
                    one = run_wrk(urls[name], 1, 1, args.latency_duration, script, body, other_cpus)
                    s = samples[name]
                    s.p50_1.append(one["p50_us"] / 1000)
                    s.p99_1.append(one["p99_us"] / 1000)
                    s.errors += one["errors"] + one["non2xx"]
                    # Steady state: CPU and new upstream connections are sampled inside the run,
                    # from LEAD_IN seconds after its start (the pool has grown to the load) to just
                    # before its end (wrk then drops its connections mid-request, and nginx closes
                    # the upstream connections of aborted requests: an artefact of the load
                    # generator stopping, which the next run would otherwise count).
                    proxy_pids = pids[name]() if name in pids else []
                    many, window, before, after = run_wrk_windowed(
                        urls[name], load, wrk_threads, args.duration + LEAD_IN,
                        script, body, other_cpus, (LEAD_IN, LEAD_IN + args.duration - 0.25),
                        lambda: (cpu_seconds(proxy_pids), upstream.connections()))  # noqa: B023 - called within this iteration
                    s.p50_200.append(many["p50_us"] / 1000)
                    s.p99_200.append(many["p99_us"] / 1000)
                    s.rps.append(many["rps"])
                    s.errors += many["errors"] + many["non2xx"]
                    in_window = many["rps"] * window  # requests in the sampled window (wrk's rate)
                    if in_window > 0:
                        if proxy_pids:
                            s.cpu_us_per_req.append((after[0] - before[0]) * 1e6 / in_window)
                        s.new_conns_per_1000.append((after[1] - before[1]) * 1000 / in_window)
                    progress(f"{mode} round {round_no + 1}/{args.rounds} {name}: "
                             f"{many['rps']:.0f} req/s", args)
            if mode == MODES[-1] or args.modes == [mode]:
                memory = measure_memory(proxy.worker_pids(), proxy_port)
    finally:
        if haproxy is not None:
            haproxy.stop()
        upstream.stop()
    return samples, memory
