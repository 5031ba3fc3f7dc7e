#!/usr/bin/env python3
"""Benchmark: the shipped liveness proxy against direct and against HAProxy 2.6, on loopback.

One run, three targets side by side, each driven by wrk with 6 KB POST bodies:
  * direct   — wrk to the upstream stand-in for Face (nginx terminating TLS for the account
               hostname), keep-alive;
  * shipped  — the exact configuration `render_nginx_config` produces for the dev stack's settings
               (read from its offline evaluation), run by infra/proxy/runner.py as
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
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests" / "proxy"), str(HERE)]

from bench_day_rounds import run_day  # noqa: E402
from bench_figures import MODES, Samples, samples_from_dict, samples_to_dict, summarise  # noqa: E402
from bench_report import machine, report, versions  # noqa: E402
from bench_rounds import run_mode  # noqa: E402
from bench_stack import dev_bench_settings, memory_mb, run_files  # noqa: E402

from infra.proxy.runner import find_nginx  # noqa: E402


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
    day = []
    try:
        ca, cert, script, body = run_files(work)
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


if __name__ == "__main__":
    sys.exit(main())
