"""The production-day rounds (the scenarios are benchmarks/bench_day.py): the shipped proxy and the
HAProxy peer alternating, each fresh per scenario and pinned alone on CPU 0, and the drain of the
container's declared command.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from bench_day import CHUNK, drain, materialise, upload_flood
from bench_day_connections import ResetOnReuse, connection_flood, stale_reuse
from bench_figures import DAY_TARGETS
from bench_procs import HAProxy, Upstream, pin_tree
from proxykit.harness import free_port
from bench_rounds import progress
from bench_stack import ROUTE, SHIPPED_CONFIG_MARK, dev_bench_settings
from haproxy_peer import PeerRun, render_haproxy_config
from proxykit.pki import CertFiles, TestCA

from components.proxy_config import LocalRun, ProxySettings, render_nginx_config
from infra.proxy.runner import ProxyProcess, ServeOptions

# The production-day scenarios, sized after the load observed on the dev stack.
UPLOAD_FLOODS = (100, 150)        # slow chunked uploads held at once by one client
DRAIN_UPLOADS = 20                # uploads in flight when the container's command gets SIGTERM
DRAIN_BODY_BYTES = 2 * 1024 * 1024
DRAIN_SECONDS = 3.0               # each upload trickles its body over this long
DRAIN_STOP_AFTER = 1.0            # SIGTERM this long after the uploads started
STALE_REQUESTS = 10               # sequential requests while Face resets pooled connections
FLOOD_CONNECTIONS = 4200          # connections one address holds open
FLOOD_PROBES = 20                 # requests of another client meanwhile


def run_day(args: argparse.Namespace, work: Path, ca: TestCA, cert: CertFiles, nginx: str,
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
        master = proxy.pid
        assert master is not None, "start() started it"
        pin_tree(master, proxy_cpus)
        return proxy, port, lambda: [master] + proxy.worker_pids()

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


def run_drain(settings: ProxySettings, container: dict, where: Path, ca: TestCA, cert: CertFiles, nginx: str,
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
