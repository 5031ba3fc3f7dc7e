#!/usr/bin/env python3
"""Where the shipped proxy's CPU per request goes: variants of the rendered config, side by side.

An experiment, not a gate: it renders the configuration `liveness-infra proxy serve --stack dev`
runs (the dev stack's settings; only the benchmark's face hostname and a rate limit the load never
reaches differ), then runs it and copies of it with ONE change each, pinned alone on CPU 0 with
wrk and the upstream stand-in on the other CPU, at 4x the dev stack's concurrency, in interleaved
rounds next to the HAProxy 2.6 peer. Each nginx writes its access log to a pipe that a reader
drains, as the container's stdout is. Per variant: CPU µs per request (utime+stime of the nginx
processes in the steady-state window) and req/s, medians with min–max.

Variants (each on top of "pool sized", except "as rendered"):
  as rendered      the shipped render, unchanged
  pool sized       upstream keepalive = 2x the load (no pool churn: the base of the others)
  log per request  access_log unbuffered: one write(2) per request (the render before the buffer)
  log buffer 64k   access_log ... buffer=64k flush=1s (more than one atomic pipe write)
  no request_id    the log without nginx's own $request_id (random bytes per request)
  log off          no access log (a lower bound: the log is needed)
  pcre jit      pcre_jit on (the allowlist regex compiled to machine code)
  no regex      allowlist map replaced by a constant (a lower bound: the allowlist is needed)
  no buffering  proxy_buffering off (responses stream to the client)
  no ssl reuse  proxy_ssl_session_reuse off

Usage: .venv/bin/python benchmarks/proxy_variants.py [--rounds 3] [--duration 4] [--only a,b]
About 2.5 minutes with the defaults. docs/proxy.md#benchmark has the figures.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests" / "proxy"), str(HERE)]

from bench_figures import Spread  # noqa: E402
from bench_procs import (  # noqa: E402
    HAProxy, Upstream, cpu_seconds, pin_tree, preexec, run_wrk, run_wrk_windowed,
    tree_pids, wait_port,
)
from proxykit.harness import free_port  # noqa: E402
from haproxy_peer import PeerRun, render_haproxy_config  # noqa: E402
from bench_rounds import LEAD_IN  # noqa: E402
from bench_stack import ROUTE, dev_bench_settings, run_files  # noqa: E402
from proxykit.pki import TestCA  # noqa: E402

from components.proxy_config import render_nginx_config  # noqa: E402
from components.proxy_settings import LocalRun, ProxySettings  # noqa: E402
from infra.proxy.runner import find_nginx  # noqa: E402


def _sub(pattern: str, replacement: str, count: int = 0):
    def change(text: str) -> str:
        new, n = re.subn(pattern, replacement, text, count=count, flags=re.MULTILINE)
        if n == 0:
            raise RuntimeError(f"variant pattern {pattern!r} not found in the rendered config")
        return new
    return change


PEER = "HAProxy 2.6 peer"


def variants(load: int) -> dict[str, list[Callable[[str], str]]]:
    pool = _sub(r"^(\s*)keepalive \d+;", rf"\g<1>keepalive {2 * load};")
    log = r"^(\s*access_log /dev/stdout liveness_json)[^;]*;"
    per_request = _sub(log, r"\1;")
    jit = _sub(r"^(pid )", r"pcre_jit on;\n\1", 1)
    return {
        "as rendered": [],
        "pool sized": [pool],
        "log per request": [pool, per_request],
        "log buffer 64k": [pool, _sub(log, r"\1 buffer=64k flush=1s;")],
        "no request_id": [pool, _sub(r'"request_id":"\$request_id",', "")],
        "log off": [pool, _sub(r"^(\s*)access_log /dev/stdout liveness_json[^;]*;", r"\1access_log off;")],
        "pcre jit": [pool, jit],
        "no regex": [pool, _sub(r'^(\s*)"~\*\^\[A-Z\][^\n]*" 1;\n', "", 1),
                     _sub(r"(map \$request \$liveness_route \{\s*default) 0;", r"\1 1;")],
        "no buffering": [pool, _sub(r"proxy_buffering on;", "proxy_buffering off;")],
        "no ssl reuse": [pool, _sub(r"proxy_ssl_session_reuse on;", "proxy_ssl_session_reuse off;")],
    }


class Nginx:
    """nginx running `text`, pinned to `cpus`; its stdout (the access log) drained from a pipe."""

    def __init__(self, nginx: str, text: str, work: Path, cpus: set[int]):
        work.mkdir()
        conf = work / "nginx.conf"
        conf.write_text(text)
        self.proc = subprocess.Popen(
            [nginx, "-p", str(work), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True,
            preexec_fn=preexec(cpus))
        self.log_bytes = 0
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        listen = re.search(r"listen 127\.0\.0\.1:(\d+) default_server", text)
        assert listen is not None, "the render has no loopback listen line"
        port = int(listen.group(1))
        wait_port(port, self.proc)
        pin_tree(self.proc.pid, cpus)

    def _drain(self) -> None:
        stdout = self.proc.stdout
        assert isinstance(stdout, io.BufferedReader)
        while chunk := stdout.read1(1 << 16):
            self.log_bytes += len(chunk)

    def pids(self) -> list[int]:
        return tree_pids(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.reader.join(5)


def _start_targets(chosen: dict[str, list[Callable[[str], str]]], settings: ProxySettings, work: Path,
                   ca: TestCA, upstream: Upstream, proxy_cpus: set[int],
                   running: dict[str, Nginx | HAProxy]) -> dict[str, str]:
    """Each variant's nginx and the HAProxy peer, pinned to `proxy_cpus`, into `running` (so the
    caller stops them whatever happens); returns each one's URL."""
    nginx_bin = find_nginx()
    urls: dict[str, str] = {}
    for i, (name, changes) in enumerate(chosen.items()):
        port, health = free_port(), free_port()
        runtime = work / f"v{i}"
        text = render_nginx_config(settings, LocalRun(
            listen=f"127.0.0.1:{port}", health_listen=f"127.0.0.1:{health}",
            face_address=upstream.address, ca_bundle=str(ca.cert_path), runtime_dir=str(runtime)))
        for change in changes:
            text = change(text)
        running[name] = Nginx(nginx_bin, text, runtime, proxy_cpus)
        urls[name] = f"http://127.0.0.1:{port}{ROUTE}"
    peer_port = free_port()
    (work / "haproxy").mkdir()
    running[PEER] = HAProxy(
        shutil.which("haproxy") or "/usr/sbin/haproxy",
        render_haproxy_config(settings, PeerRun(listen=f"127.0.0.1:{peer_port}",
                                                upstream=upstream.address,
                                                ca_file=str(ca.cert_path), threads=1)),
        work / "haproxy", peer_port, proxy_cpus)
    urls[PEER] = f"http://127.0.0.1:{peer_port}{ROUTE}"
    return urls


def _measure(urls: dict[str, str], running: dict[str, Nginx | HAProxy], args: argparse.Namespace, load: int,
             script: Path, body: Path, other_cpus: set[int]) -> tuple[dict[str, list[float]], dict[str, list[float]],
                                                                     dict[str, int]]:
    """Interleaved rounds at the load: CPU µs per request, req/s and errors of each target."""
    names = list(urls)
    for url in urls.values():
        run_wrk(url, 20, 1, 1, script, body, other_cpus)
    cpu: dict[str, list[float]] = {n: [] for n in names}
    rps: dict[str, list[float]] = {n: [] for n in names}
    non2xx: dict[str, int] = {n: 0 for n in names}
    for round_no in range(args.rounds):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            pids = running[name].pids()
            many, window, before, after = run_wrk_windowed(
                urls[name], load, 2, args.duration + LEAD_IN, script, body, other_cpus,
                (LEAD_IN, LEAD_IN + args.duration - 0.25), functools.partial(cpu_seconds, pids))
            rps[name].append(many["rps"])
            non2xx[name] += many["non2xx"] + many["errors"]
            cpu[name].append((after - before) * 1e6 / (many["rps"] * window))
            print(f"  … round {round_no + 1} {name}: {many['rps']:.0f} req/s", file=sys.stderr)
    return cpu, rps, non2xx


def _print_table(cpu: dict[str, list[float]], rps: dict[str, list[float]], non2xx: dict[str, int],
                 load: int, rounds: int) -> None:
    pool_sized = Spread.of(cpu["pool sized"]) if "pool sized" in cpu else None
    base = pool_sized.median if pool_sized else None
    print(f"{load} connections, pinned; medians of {rounds} interleaved rounds (min–max)")
    print("| variant | CPU µs / request | vs pool sized | req/s | errors + non-2xx |")
    print("| --- | --- | --- | --- | --- |")
    for name in cpu:
        c, r = Spread.of(cpu[name]), Spread.of(rps[name])
        assert c is not None and r is not None  # every variant ran every round
        rel = f"{c.median / base:.2f}×" if base else "—"
        print(f"| {name} | {c.show('.1f')} | {rel} | {r.show(',.0f')} | {non2xx[name]} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=4)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print("proxy_variants: needs at least 2 CPUs", file=sys.stderr)
        return 2
    proxy_cpus, other_cpus = {cpus[0]}, set(cpus[1:])
    settings, load, _declared = dev_bench_settings(cpu=1)
    chosen = variants(load)
    if args.only:
        wanted = [n.strip() for n in args.only.split(",")]
        chosen = {n: chosen[n] for n in wanted}
    work = Path(tempfile.mkdtemp(prefix="liveness-variants-"))
    work.chmod(0o755)
    running: dict[str, Nginx | HAProxy] = {}
    upstream = None
    try:
        ca, cert, script, body = run_files(work)
        upstream = Upstream(find_nginx(), work, cert.cert, cert.key, other_cpus)
        urls = _start_targets(chosen, settings, work, ca, upstream, proxy_cpus, running)
        cpu, rps, non2xx = _measure(urls, running, args, load, script, body, other_cpus)
        _print_table(cpu, rps, non2xx, load, args.rounds)
    finally:
        for proc in running.values():
            proc.stop()
        if upstream is not None:
            upstream.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
