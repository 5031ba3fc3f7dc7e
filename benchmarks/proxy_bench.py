#!/usr/bin/env python3
"""Benchmark: the shipped liveness proxy against direct and against HAProxy 2.6, on loopback.

One run, three targets side by side, each driven by wrk with 6 KB POST bodies:
  * direct   — wrk to the upstream stand-in for Face (nginx terminating TLS for the account
               hostname), keep-alive;
  * shipped  — the exact configuration `render_nginx_config` produces for the dev stack's settings
               (read from its offline evaluation), run by infra/proxyrun/runner.py as
               `liveness-infra proxy serve --stack dev` runs it (only listen addresses, the upstream
               address and CA bundle, pid/temp paths differ);
  * haproxy  — Debian's HAProxy 2.6 configured equivalently from the same settings and route list
               (benchmarks/haproxy_peer.py): same allowlist on the raw target, POST only, body cap,
               TLS to the upstream with SNI and verification, pooled connections.
The load is 4x the dev scale rule's concurrency (200 connections for 50). Two modes: "pinned",
the default (each proxy alone on CPU 0; wrk and the upstream on CPU 1; dev's vCPU renders one
nginx worker, the peer gets one thread) and "shared" (everything on every CPU; cpu = the
machine's CPUs). Rounds interleave the targets (rotating
their order) so drift on a shared machine hits all of them alike; figures are medians over the
rounds with min–max.

Per target: req/s at the load and % of direct (same round); p50/p99 added over direct at
1 connection and at the load; CPU µs per request of every proxy process (utime+stime from
/proc/<pid>/stat) and new upstream connections (TLS handshakes, counted by the upstream stand-in)
per 1,000 requests, both sampled inside the run at the load once the pool has grown (steady
state; wrk's abrupt stop is left out).
Targets (the proxy's performance goals), shipped vs HAProxy in the same run: CPU per request <= 1.1x; pinned
throughput >= 0.95x; p99 added at one connection <= 1.5x (on each target's best round: other work
on a shared machine only adds latency). Also: nginx worker RSS growth while one 6 MB body streams
through the shipped proxy <= 16 MB; zero non-2xx / socket errors from the shipped proxy.
Then the production day (bench_day.py, --day-rounds rounds): peak RSS under 100 and 150 slow
chunked uploads from one client, uploads answered across SIGTERM to the container's declared
command, 502s when Face drops pooled connections on reuse, another client's answers while one
address holds thousands of connections. docs/proxy.md#benchmark explains the method.

Usage:  .venv/bin/python benchmarks/proxy_bench.py [--rounds 3] [--duration 5]
            [--latency-duration 3] [--modes pinned[,shared]] [--day-rounds 2] [--markdown | --json]
            [--save FILE] [--load FILE]   (--load re-prints a saved run without running)
About 2.5 minutes with the defaults on 2 CPUs. Needs Debian wrk, nginx-light and haproxy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests" / "proxy"), str(HERE)]

from bench_figures import (  # noqa: E402
    DAY_TARGETS, MODES, RSS_GROWTH_MAX_MB, TARGET_NAMES, Samples, compact_table, day_lines,
    markdown_table, summarise_day, samples_from_dict, samples_to_dict, summarise, text_table, to_jsonable, verdict_lines, verdicts,
)
from bench_procs import (  # noqa: E402
    HAProxy, Upstream, cpu_seconds, free_port, pin_tree, rss_kb, run_wrk, run_wrk_windowed,
)
from bench_day import (  # noqa: E402
    CHUNK, ResetOnReuse, connection_flood, drain, materialise, stale_reuse, upload_flood,
)
from haproxy_peer import PeerRun, render_haproxy_config  # noqa: E402
from proxykit.pki import TestCA  # noqa: E402

from components.proxy_config import LocalRun, ProxySettings, render_nginx_config  # noqa: E402
from infra.proxyrun.runner import ProxyProcess, ServeOptions, find_nginx  # noqa: E402

FACE_HOST = "fl-bench-face.cognitiveservices.azure.com"
ROUTE = "/face/v1.2/detectLiveness/singleModal"
DEV_STACK = "dev"
CONTAINER_APP_TYPE = "azure-native:app:ContainerApp"
LOAD_FACTOR = 4  # the load: this many times the dev stack's scale-rule concurrency
# The production-day scenarios (bench_day.py), sized after the load observed on the dev stack.
UPLOAD_FLOODS = (100, 150)        # slow chunked uploads held at once by one client
DRAIN_UPLOADS = 20                # uploads in flight when the container's command gets SIGTERM
DRAIN_BODY_BYTES = 2 * 1024 * 1024
DRAIN_SECONDS = 3.0               # each upload trickles its body over this long
DRAIN_STOP_AFTER = 1.0            # SIGTERM this long after the uploads started
STALE_REQUESTS = 10               # sequential requests while Face resets pooled connections
FLOOD_CONNECTIONS = 4200          # connections one address holds open
FLOOD_PROBES = 20                 # requests of another client meanwhile
LEAD_IN = 1.0  # seconds of each run at the load before CPU and connections are sampled

# wrk script: POST a fixed body; print the counts and latency percentiles (µs) as one JSON line.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Authorization"] = "Bearer bench-token"
local f = io.open(os.getenv("BENCH_BODY_FILE"), "rb")
wrk.body = f:read("*a")
f:close()
-- The load stands for many end users behind the Container Apps ingress: the ingress (loopback,
-- a trusted peer here) appends each user's address to X-Forwarded-For, so the per-client caps
-- apply per user, as in production, not to the whole load at once.
local user = 0
request = function()
  user = user % 250 + 1
  return wrk.format(nil, nil, {
    ["Content-Type"] = "application/octet-stream",
    ["Authorization"] = "Bearer bench-token",
    ["X-Forwarded-For"] = "198.51.100." .. user,
  })
end
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def dev_stack() -> tuple[ProxySettings, dict]:
    """The dev stack's proxy settings and the container the dev stack declares (command, args,
    resources), from the offline evaluation of its Pulumi program (no credentials, no network):
    the benchmark measures whatever the shipped code renders and declares, not a copy of it."""
    # In a child process: the Pulumi runtime leaves gRPC threads behind, and the benchmark forks.
    found = subprocess.run([sys.executable, "-c", _DEV_STACK_SCRIPT, DEV_STACK, CONTAINER_APP_TYPE,
                            SHIPPED_CONFIG_MARK],
                           capture_output=True, text=True, timeout=120, cwd=PROJECT)
    if found.returncode != 0:
        raise RuntimeError(f"evaluating the {DEV_STACK} stack offline failed: {found.stderr[-2000:]}")
    data = json.loads(found.stdout.strip().splitlines()[-1])
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in data["settings"].items()}
    return ProxySettings(**fields), data["container"]


# Prints the dev stack's ProxySettings and its container declaration, with the files mounted into
# the container (volume path -> text; the rendered nginx.conf as SHIPPED_CONFIG_MARK).
_DEV_STACK_SCRIPT = """
import dataclasses, json, sys
from components.proxy_config import render_nginx_config
from infra.plan.offline import evaluate_stack
evaluation = evaluate_stack(sys.argv[1])
app = evaluation.one(sys.argv[2]).inputs
(container,) = app["template"]["containers"]
ps = evaluation.settings.proxy_settings()
secrets = {s["name"]: s["value"] for s in app["configuration"].get("secrets", [])}
shipped = render_nginx_config(ps)
files = {}
for volume in app["template"].get("volumes", []):
    for item in volume.get("secrets", []):
        text = secrets.get(item["secretRef"], "")
        files[item["path"]] = sys.argv[3] if text == shipped else text
container["mounted_files"] = files
print(json.dumps({"settings": dataclasses.asdict(ps), "container": container}, default=str))
"""
SHIPPED_CONFIG_MARK = "<the rendered nginx.conf>"


def dev_bench_settings(cpu: float | None = None) -> tuple[ProxySettings, int, dict]:
    """The dev stack's settings, except what a benchmark from one address needs: loopback trusted
    as the ingress (the load spreads over 250 end-user addresses in X-Forwarded-For), a rate limit it
    never reaches, the account hostname of the stand-in's certificate and the CPUs this run gives
    the proxy (None: the dev replica's own vCPU, which renders the one worker a pinned run
    gives one CPU). Returns them with the load (4x the dev scale rule's concurrency, the burst before
    new replicas are ready) and the dev container's declaration. `proxy serve` replaces the
    upstream address with the stand-in's loopback address (ServeOptions.face_address)."""
    dev, container = dev_stack()
    settings = replace(dev, face_host=FACE_HOST, rate_limit_per_second=100_000,
                       rate_limit_burst=100_000, cpu=dev.cpu if cpu is None else cpu,
                       trusted_proxy_cidrs=(*dev.trusted_proxy_cidrs, "127.0.0.1/32"))
    return settings, LOAD_FACTOR * dev.concurrent_requests, container


def stream_big_body(port: int, size: int, seconds: float) -> int:
    """POST `size` bytes to the proxy, paced over about `seconds`; return the status code."""
    import socket

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
        data = b""
        while b"\r\n" not in data:
            more = sock.recv(4096)
            if not more:
                break
            data += more
    return int(data.split(b" ")[1]) if data.startswith(b"HTTP/") else 0


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


def run_mode(mode: str, args: argparse.Namespace, work: Path, ca: TestCA, cert, nginx: str,
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
            pin_tree(proxy.pid, proxy_cpus)
            workers = proxy.worker_pids()
            peer_dir = mode_dir / "haproxy"
            peer_dir.mkdir()
            haproxy = HAProxy(haproxy_bin, render_haproxy_config(settings, PeerRun(
                listen=f"127.0.0.1:{peer_port}", upstream=upstream.address,
                ca_file=str(ca.cert_path), threads=len(workers))), peer_dir, peer_port, proxy_cpus)
            urls = {"direct": f"https://{upstream.address}{ROUTE}",
                    "shipped": f"http://127.0.0.1:{proxy_port}{ROUTE}",
                    "haproxy": f"http://127.0.0.1:{peer_port}{ROUTE}"}
            pids = {"shipped": lambda: [proxy.pid] + proxy.worker_pids(), "haproxy": haproxy.pids}
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


def memory_mb(text: str) -> float:
    """A Container Apps memory size ("1Gi", "0.5Gi", "512Mi") in MB."""
    units = {"Gi": 1024.0, "Mi": 1.0}
    for unit, scale in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    raise ValueError(f"container memory: received {text!r}; expected a size in Gi or Mi")


def run_day(args: argparse.Namespace, work: Path, ca: TestCA, cert, nginx: str,
            haproxy_bin: str) -> list[dict]:
    """The production-day scenarios (benchmarks/bench_day.py), rounds interleaving the shipped
    proxy and the HAProxy peer, each proxy fresh per scenario and pinned alone on CPU 0."""
    all_cpus = set(os.sched_getaffinity(0))
    proxy_cpus = {min(all_cpus)}
    settings, _load, container = dev_bench_settings()
    day_dir = work / "day"
    day_dir.mkdir()
    upstream = Upstream(nginx, day_dir, cert.cert, cert.key, all_cpus - proxy_cpus)
    rounds: list[dict] = []

    def shipped(face: str):
        port, health = free_port(), free_port()
        options = ServeOptions(listen=f"127.0.0.1:{port}", health_listen=f"127.0.0.1:{health}",
                               face_address=face, trusted_ca=str(ca.cert_path))
        proxy = ProxyProcess(settings, options, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL).start()
        pin_tree(proxy.pid, proxy_cpus)
        return proxy, port, lambda: [proxy.pid] + proxy.worker_pids()

    def peer(face: str, name: str):
        port = free_port()
        peer_dir = day_dir / name
        peer_dir.mkdir()
        proxy = HAProxy(haproxy_bin, render_haproxy_config(settings, PeerRun(
            listen=f"127.0.0.1:{port}", upstream=face, ca_file=str(ca.cert_path), threads=1)),
            peer_dir, port, proxy_cpus)
        return proxy, port, proxy.pids

    def each(scenario: str, face: str, round_no: int, run) -> dict:
        out = {}
        for target in (DAY_TARGETS if round_no % 2 == 0 else DAY_TARGETS[::-1]):
            proxy, port, pids = (shipped(face) if target == "shipped"
                                 else peer(face, f"{scenario}-{round_no}"))
            try:
                out[target] = run(port, pids)
            finally:
                proxy.stop()
            progress(f"day round {round_no + 1}/{args.day_rounds} {scenario} {target}: "
                     f"{ {k: v for k, v in out[target].items() if k != 'statuses'} }", args)
        return out

    reset = ResetOnReuse(cert.cert, cert.key)
    closing = ResetOnReuse(cert.cert, cert.key, close_after_answer=True)
    body_bytes = settings.max_body_bytes - 2 * CHUNK
    try:
        for round_no in range(args.day_rounds):
            one: dict = {}
            for uploads in UPLOAD_FLOODS:
                one[f"flood_{uploads:03d}"] = each(
                    f"flood {uploads}", upstream.address, round_no,
                    lambda port, pids, n=uploads: upload_flood(port, pids, ROUTE, n, body_bytes, 2.0))
            one["drain"] = {"shipped": run_drain(settings, container, day_dir / f"drain-{round_no}",
                                                 ca, cert, nginx, proxy_cpus)}
            progress(f"day round {round_no + 1}/{args.day_rounds} drain shipped: "
                     f"{one['drain']['shipped']}", args)
            one["stale"] = each("stale", reset.address, round_no,
                                lambda port, pids: stale_reuse(port, ROUTE, STALE_REQUESTS))
            one["stale_fin"] = each("stale-fin", closing.address, round_no,
                                    lambda port, pids: stale_reuse(port, ROUTE, STALE_REQUESTS, 0.0))
            one["connflood"] = each("connflood", upstream.address, round_no,
                                    lambda port, pids: connection_flood(port, ROUTE, FLOOD_CONNECTIONS,
                                                                        FLOOD_PROBES))
            rounds.append(one)
    finally:
        reset.stop()
        closing.stop()
        upstream.stop()
    return rounds


def run_drain(settings: ProxySettings, container: dict, where: Path, ca: TestCA, cert, nginx: str,
              cpus: set[int]) -> dict:
    """Uploads in flight through the container's declared command when it gets SIGTERM."""
    from proxykit.standin import FaceStandin

    where.mkdir()
    if os.geteuid() == 0:
        where.chmod(0o711)  # nginx workers drop to an unprivileged user
    port, health = free_port(), free_port()
    with FaceStandin("127.0.0.1", 0, str(cert.cert), str(cert.key)) as face:
        runtime = where / "runtime"
        runtime.mkdir()
        runtime.chmod(0o711)
        ca_copy = where / "upstream-ca.pem"
        ca_copy.write_bytes(ca.cert_path.read_bytes())
        ca_copy.chmod(0o644)
        local = render_nginx_config(settings, LocalRun(
            listen=f"127.0.0.1:{port}", health_listen=f"127.0.0.1:{health}",
            face_address=face.address, ca_bundle=str(ca_copy), runtime_dir=str(runtime)))
        files = {name: local if text == SHIPPED_CONFIG_MARK else text
                 for name, text in container.get("mounted_files", {}).items()}
        argv = materialise(container, files, where / "mount")
        result = drain(argv, str(Path(nginx).parent), port, health, ROUTE, DRAIN_UPLOADS,
                       DRAIN_BODY_BYTES, DRAIN_SECONDS, DRAIN_STOP_AFTER, cpus=cpus)
    result["command"] = " ".join(list(container.get("command") or []) + list(container.get("args") or []))
    return result


def progress(message: str, args: argparse.Namespace) -> None:
    if not args.quiet:
        print(f"  … {message}", file=sys.stderr, flush=True)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{len(os.sched_getaffinity(0))} CPUs ({model}), Linux {platform.release()}"


def versions(nginx: str, haproxy_bin: str) -> str:
    nginx_v = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    haproxy_v = subprocess.run([haproxy_bin, "-v"], capture_output=True, text=True).stdout
    return f"{nginx_v.replace('nginx version: ', '')}, HAProxy {haproxy_v.split()[2]}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n", 1)[1])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds of each wrk run at the load (default 5)")
    parser.add_argument("--latency-duration", type=int, default=3,
                        help="seconds of each one-connection wrk run (default 3)")
    parser.add_argument("--modes", default="pinned",
                        help="comma-separated: pinned, shared (default pinned)")
    parser.add_argument("--day-rounds", type=int, default=2,
                        help="rounds of the production-day scenarios (default 2; 0: none)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--markdown", action="store_true", help="print Markdown tables to paste")
    out.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--save", metavar="FILE", help="also write every round's samples to FILE")
    parser.add_argument("--load", metavar="FILE",
                        help="run nothing: print the report of samples saved with --save")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in args.modes if m not in MODES]
    if bad or not args.modes:
        parser.exit(2, f"proxy_bench: --modes: received {args.modes!r}; expected pinned and/or shared\n")
    for flag, value, low, high in (("--rounds", args.rounds, 1, 50), ("--duration", args.duration, 1, 120),
                                   ("--latency-duration", args.latency_duration, 1, 120),
                                   ("--day-rounds", args.day_rounds, 0, 10)):
        if not low <= value <= high:
            parser.exit(2, f"proxy_bench: {flag}: received {value}; expected {low} to {high}\n")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.load:
        try:
            saved = json.loads(Path(args.load).read_text())
            header, memory = saved["header"], saved["memory_6mb"]
            day = saved.get("day", [])
            results = {mode: summarise(samples_from_dict(per_target))
                       for mode, per_target in saved["samples"].items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"proxy_bench: --load: cannot read {args.load!r} ({exc}); expected a file "
                  "written by --save", file=sys.stderr)
            return 2
        return report(header, results, memory, day, args)
    for tool, package in (("wrk", "wrk"), ("haproxy", "haproxy")):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            print(f"proxy_bench: {tool} not found (apt-get install {package}, or "
                  "bash scripts/install-system-deps.sh)", file=sys.stderr)
            return 2
    if "pinned" in args.modes and len(os.sched_getaffinity(0)) < 2:
        print("proxy_bench: --modes pinned needs at least 2 CPUs; use --modes shared", file=sys.stderr)
        return 2
    nginx = find_nginx()
    haproxy_bin = shutil.which("haproxy") or "/usr/sbin/haproxy"
    started = datetime.now(timezone.utc)

    work = Path(tempfile.mkdtemp(prefix="liveness-bench-"))
    work.chmod(0o755)
    raw: dict[str, dict[str, Samples]] = {}
    memory = None
    day: list[dict] = []
    try:
        ca = TestCA(work, "bench")
        cert = ca.issue("face", [FACE_HOST])
        cert.key.chmod(0o644)  # throw-away key, read by the upstream nginx master
        body = work / "body-6k.bin"
        body.write_bytes(os.urandom(6 * 1024))
        script = work / "post.lua"
        script.write_text(WRK_SCRIPT)
        for mode in args.modes:
            raw[mode], mem = run_mode(mode, args, work, ca, cert, nginx, haproxy_bin, script, body)
            memory = mem or memory
        if args.day_rounds:
            day = run_day(args, work, ca, cert, nginx, haproxy_bin)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    settings, load, container = dev_bench_settings()
    header = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "load": load, "concurrency": settings.concurrent_requests,
              "replica_memory_mb": memory_mb(container["resources"]["memory"]),
              "versions": versions(nginx, haproxy_bin), "rounds": args.rounds,
              "command": "python benchmarks/proxy_bench.py " + " ".join(argv or sys.argv[1:])}
    if args.save:
        Path(args.save).write_text(json.dumps(
            {"header": header, "memory_6mb": memory, "day": day,
             "samples": {mode: samples_to_dict(s) for mode, s in raw.items()}}, indent=1))
    return report(header, {mode: summarise(s) for mode, s in raw.items()}, memory, day, args)


def report(header: dict, results: dict, memory: dict | None, day: list[dict],
           args: argparse.Namespace) -> int:
    found = verdicts(results)
    day_rows = summarise_day(day, header.get("replica_memory_mb", 1024.0)) if day else []
    if args.json:
        print(json.dumps({**header, "modes": to_jsonable(results), "memory_6mb": memory,
                          "day": day_rows,
                          "targets": [dict(name=v.name, mode=v.mode, ratio=v.ratio, limit=v.limit,
                                           met=v.met, note=v.note) for v in found]}, indent=2))
        return 0
    print_report(header, results, found, memory, args.markdown)
    if day_rows:
        print()
        print(f"Production day (dev stack's settings and container command; {len(day)} rounds, "
              "each proxy fresh per scenario, pinned alone on CPU 0):")
        print()
        for line in day_lines(day_rows, args.markdown):
            print(line)
    return 0


def print_report(header: dict, results: dict, found: list, memory: dict | None, md: bool) -> None:
    print(f"{'`' if md else ''}{header['command'].strip()}{'`' if md else ''} — {header['date']}; "
          f"{header['machine']}; {header['versions']}; loopback, 6 KB POST bodies; load "
          f"{header.get('load', 200)} connections (4× the dev stack's concurrency of "
          f"{header.get('concurrency', 50)}); medians of "
          f"{header['rounds']} interleaved rounds (min–max){'  ' if md else ''}")
    if md:
        print()
        print(compact_table(results))
    for mode, summary in results.items():
        title = ("pinned: each proxy alone on CPU 0, wrk and the upstream on the other CPU"
                 if mode == "pinned" else "shared: wrk, the upstream and the proxies on every CPU")
        print()
        print(f"**{title}**" if md else f"{title}:")
        print()
        print(markdown_table(summary) if md else text_table(summary))
    print()
    print("Latencies in ms; direct's are absolute, the proxies' are added over direct in the same "
          "round. New upstream connections are TLS handshakes counted at the upstream stand-in "
          "(for direct: wrk's own). CPU: utime+stime of every proxy process per request.")
    if not md:
        print()
        print("Targets, shipped vs HAProxy in the same run:")
    else:
        print()
    for line in verdict_lines(found, md):
        print(line)
    if memory:
        ok = memory["status"] == 200 and memory["rss_growth_mb"] <= RSS_GROWTH_MAX_MB
        print()
        print(f"6 MB body streamed through the shipped proxy: status {memory['status']}, worker RSS "
              f"growth {memory['rss_growth_mb']} MB from {memory['rss_before_mb']} MB "
              f"(target ≤ {RSS_GROWTH_MAX_MB:g} MB) {'MET' if ok else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())
