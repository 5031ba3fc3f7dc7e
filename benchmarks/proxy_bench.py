#!/usr/bin/env python3
"""Benchmark: what the liveness proxy costs, direct-to-upstream vs through the proxy (loopback).

One run measures, with wrk (Debian package `wrk`):
  * latency added at one connection: p50 and p99 through the proxy minus direct;
  * throughput at 200 concurrent connections with 6 KB POST bodies, through the proxy as a
    fraction of direct;
  * nginx worker memory (RSS) growth while one 6 MB body streams through the proxy.
Targets (issue 3): p99 added <= 1 ms, throughput >= 80 % of direct, worker RSS growth <= 16 MB.

Two proxies are measured: the shipped configuration, which resolves the Face hostname per
request (so a changed private endpoint IP is followed) and therefore opens a new TLS connection
to Face for every request, and a reference that is the same file with a keep-alive pool
(`upstream{}` + `keepalive`) instead, which nginx 1.22 can only resolve once at start. The
reference is not shipped; it shows what the per-request TLS handshake costs.

The upstream standing in for Face is a second nginx terminating TLS with a certificate for the
account hostname from a throw-away CA; the proxy is the shipped configuration run through the
same code path as `liveness-infra proxy serve`. Everything listens on 127.0.0.1 and stops at the
end. Usage:  .venv/bin/python benchmarks/proxy_bench.py [--duration 5] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests" / "proxy")]

from proxykit.pki import TestCA  # noqa: E402

from components.proxy_config import LocalRun, ProxySettings, render_nginx_config  # noqa: E402
from infra.proxyrun.runner import ProxyProcess, ServeOptions, find_nginx  # noqa: E402

FACE_HOST = "fl-bench-face.cognitiveservices.azure.com"
ROUTE = "/face/v1.2/detectLiveness/singleModal"
TARGETS = {"p99_added_ms": 1.0, "throughput_ratio": 0.80, "rss_growth_mb": 16.0}

# wrk script: POST a fixed body; print latency percentiles (microseconds) as one JSON line.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Authorization"] = "Bearer bench-token"
local f = io.open(os.getenv("BENCH_BODY_FILE"), "rb")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""

UPSTREAM_CONF = """
worker_processes 1;
pid {dir}/upstream.pid;
error_log stderr error;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/ub; proxy_temp_path {dir}/up; fastcgi_temp_path {dir}/uf;
    uwsgi_temp_path {dir}/uu; scgi_temp_path {dir}/us;
    client_max_body_size 16m;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location / {{
            default_type application/json;
            return 200 '{{"status":"ok"}}';
        }}
    }}
}}
"""


def pooled_reference(config: str, face_address: str) -> str:
    """The shipped configuration with a keep-alive pool instead of per-request resolution."""
    pooled = config.replace(
        "    server {\n",
        f"    upstream liveness_face_pool {{\n        server {face_address};\n"
        "        keepalive 64;\n    }\n\n    server {\n", 1)
    pooled = pooled.replace("proxy_pass https://$liveness_face_address$request_uri;",
                            "proxy_pass https://liveness_face_pool$request_uri;")
    pooled = pooled.replace('proxy_set_header Connection "close";', 'proxy_set_header Connection "";')
    if pooled.count("liveness_face_pool") != 2 or 'Connection "";' not in pooled:
        raise RuntimeError("the rendered configuration changed shape; update pooled_reference()")
    return pooled


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def run_wrk(url: str, connections: int, threads: int, duration: int, script: Path,
            body_file: Path) -> dict:
    cmd = ["wrk", "-c", str(connections), "-t", str(threads), "-d", f"{duration}s",
           "--timeout", "10s", "-s", str(script), url]
    env = dict(os.environ, BENCH_BODY_FILE=str(body_file))
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60, env=env)
    match = re.search(r"^BENCH (\{.*\})$", out.stdout, re.MULTILINE)
    if out.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}\n{out.stderr}")
    result = json.loads(match.group(1))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stream_big_body(port: int, size: int, seconds: float) -> int:
    """POST `size` bytes to the proxy, paced over about `seconds`; return the status code."""
    head = (f"POST {ROUTE} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {size}\r\nConnection: close\r\n\r\n").encode()
    chunk = b"\xab" * 65536
    pieces = size // len(chunk)
    pause = seconds / max(pieces, 1)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sent = 0
        while sent < size:
            part = chunk[: min(len(chunk), size - sent)]
            sock.sendall(part)
            sent += len(part)
            time.sleep(pause)
        data = b""
        while b"\r\n" not in data:
            more = sock.recv(4096)
            if not more:
                break
            data += more
    return int(data.split(b" ")[1]) if data.startswith(b"HTTP/") else 0


def measure_memory(proxy: ProxyProcess, port: int) -> dict:
    workers = proxy.worker_pids()
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


def median(values: list[float]) -> float:
    return statistics.median(values)


def start_nginx(nginx: str, prefix: Path, conf: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf), "-e", "stderr",
                             "-g", "daemon off;"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL)
    wait_port(port)
    return proc


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def measure(urls: dict[str, str], rounds: int, latency_s: int, load_s: int, script: Path,
            body: Path) -> dict[str, dict[str, float]]:
    """Median over rounds (targets interleaved so drift on a shared machine hits all alike)."""
    samples: dict[str, dict[str, list[float]]] = {
        name: {"p50": [], "p99": [], "rps": [], "errors": []} for name in urls}
    for url in urls.values():  # warm-up
        run_wrk(url, 10, 1, 1, script, body)
    for _ in range(rounds):
        for name, url in urls.items():
            one = run_wrk(url, 1, 1, latency_s, script, body)
            samples[name]["p50"].append(one["p50_us"] / 1000)
            samples[name]["p99"].append(one["p99_us"] / 1000)
        for name, url in urls.items():
            many = run_wrk(url, 200, 2, load_s, script, body)
            samples[name]["rps"].append(many["rps"])
            samples[name]["errors"].append(many["errors"] + many["non2xx"])
    return {name: {"p50_ms": median(v["p50"]), "p99_ms": median(v["p99"]),
                   "rps": median(v["rps"]), "errors": sum(v["errors"])}
            for name, v in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 1)[1])
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds of each 200-connection wrk run (default 5)")
    parser.add_argument("--latency-duration", type=int, default=3,
                        help="seconds of each single-connection latency run (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("proxy_bench: wrk not found (apt-get install wrk)", file=sys.stderr)
        return 2
    nginx = find_nginx()

    work = Path(tempfile.mkdtemp(prefix="liveness-bench-"))
    work.chmod(0o755)
    upstream_proc = reference_proc = None
    try:
        ca = TestCA(work, "bench")
        cert = ca.issue("face", [FACE_HOST])
        cert.key.chmod(0o644)  # throw-away key, read by the upstream nginx master
        body_6k = work / "body-6k.bin"
        body_6k.write_bytes(os.urandom(6 * 1024))
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT)

        up_port = free_port()
        up_conf = work / "upstream.conf"
        up_conf.write_text(UPSTREAM_CONF.format(dir=work, port=up_port, cert=cert.cert, key=cert.key))
        upstream_proc = start_nginx(nginx, work, up_conf, up_port)
        face_address = f"127.0.0.1:{up_port}"

        settings = ProxySettings(face_host=FACE_HOST, rate_limit_per_second=100_000,
                                 rate_limit_burst=100_000)
        ref_dir = work / "reference"
        ref_dir.mkdir()
        ref_port, ref_health = free_port(), free_port()
        ref_conf = ref_dir / "nginx.conf"
        ref_conf.write_text(pooled_reference(render_nginx_config(settings, LocalRun(
            listen=f"127.0.0.1:{ref_port}", health_listen=f"127.0.0.1:{ref_health}",
            face_address=face_address, ca_bundle=str(ca.cert_path), runtime_dir=str(ref_dir))),
            face_address))
        reference_proc = start_nginx(nginx, ref_dir, ref_conf, ref_port)

        proxy_port, health_port = free_port(), free_port()
        options = ServeOptions(listen=f"127.0.0.1:{proxy_port}",
                               health_listen=f"127.0.0.1:{health_port}",
                               face_address=face_address, trusted_ca=str(ca.cert_path))
        with open(os.devnull, "wb") as devnull, \
                ProxyProcess(settings, options, stdout=devnull) as proxy:
            results = measure({"direct": f"https://{face_address}{ROUTE}",
                               "shipped": f"http://127.0.0.1:{proxy_port}{ROUTE}",
                               "pooled-reference": f"http://127.0.0.1:{ref_port}{ROUTE}"},
                              args.rounds, args.latency_duration, args.duration, script, body_6k)
            memory = measure_memory(proxy, proxy_port)
    finally:
        stop(reference_proc)
        stop(upstream_proc)
        shutil.rmtree(work, ignore_errors=True)

    direct = results["direct"]
    figures: dict = {"direct": direct, "memory_6mb": memory, "cpus": os.cpu_count(),
                     "rounds": args.rounds}
    met: dict = {}
    for name in ("shipped", "pooled-reference"):
        r = results[name]
        figures[name] = dict(r, p50_added_ms=r["p50_ms"] - direct["p50_ms"],
                             p99_added_ms=r["p99_ms"] - direct["p99_ms"],
                             throughput_ratio=r["rps"] / direct["rps"])
        met[name] = {"p99_added_ms": figures[name]["p99_added_ms"] <= TARGETS["p99_added_ms"],
                     "throughput_ratio": figures[name]["throughput_ratio"] >= TARGETS["throughput_ratio"]}
    met["shipped"]["rss_growth_mb"] = (memory["rss_growth_mb"] <= TARGETS["rss_growth_mb"]
                                       and memory["status"] == 200)
    if args.json:
        print(json.dumps({"figures": figures, "targets": TARGETS, "met": met}, indent=2))
        return 0
    word = {True: "meets", False: "MISSES"}
    print(f"direct to the upstream (TLS keep-alive): p50 {direct['p50_ms']:.3f} ms, "
          f"p99 {direct['p99_ms']:.3f} ms at 1 connection; {direct['rps']:.0f} req/s at 200")
    for name, label in (("shipped", "shipped config (resolves per request, new TLS connection each)"),
                        ("pooled-reference", "reference, keep-alive pool (NOT shipped: no re-resolution)")):
        f = figures[name]
        print(f"{label}:")
        print(f"  latency added, 1 connection, 6 KB POST: p50 {f['p50_added_ms']:+.3f} ms, "
              f"p99 {f['p99_added_ms']:+.3f} ms ({word[met[name]['p99_added_ms']]} p99 target "
              f"<= {TARGETS['p99_added_ms']} ms)")
        print(f"  throughput, 200 connections, 6 KB POST: {f['rps']:.0f} req/s = "
              f"{f['throughput_ratio']:.0%} of direct ({word[met[name]['throughput_ratio']]} target "
              f">= {TARGETS['throughput_ratio']:.0%}); errors {f['errors']}")
    print(f"memory, one 6 MB body streaming through the shipped config: worker RSS growth "
          f"{memory['rss_growth_mb']} MB from {memory['rss_before_mb']} MB, status {memory['status']} "
          f"({word[met['shipped']['rss_growth_mb']]} target <= {TARGETS['rss_growth_mb']} MB)")
    print(f"machine: {figures['cpus']} CPUs shared by wrk, both proxies and the upstream; "
          f"medians of {args.rounds} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
