"""The processes of `benchmarks/proxy_bench.py`: the upstream stand-in, HAProxy, wrk, pinning.

Everything listens on 127.0.0.1; every process started here is stopped by the caller (and gets
SIGTERM from the kernel if the benchmark dies first).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from bench_figures import count_lines, cpu_ticks, parse_wrk
from proxykit.harness import free_port

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl
_PR_SET_PDEATHSIG = 1

# The Face stand-in: nginx terminating TLS for the account hostname, answering a small JSON body.
# It logs one line per new connection (the first request on it), so the benchmark counts the
# TLS connections each target opened: a pooled proxy opens a handful, a non-pooled one one per
# request. wrk's own connections are counted too when it talks to the upstream directly.
UPSTREAM_CONF = """
worker_processes 1;
pid {dir}/upstream.pid;
error_log stderr error;
events {{ worker_connections 8192; }}
http {{
    client_body_temp_path {dir}/ub; proxy_temp_path {dir}/up; fastcgi_temp_path {dir}/uf;
    uwsgi_temp_path {dir}/uu; scgi_temp_path {dir}/us;
    map $connection_requests $bench_new_connection {{ 1 1; default 0; }}
    log_format bench_connection '$connection $ssl_session_reused';
    access_log {dir}/connections.log bench_connection if=$bench_new_connection;
    client_max_body_size 16m;
    client_body_buffer_size 1m;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} ssl backlog=4096;
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


def preexec(cpus: set[int] | None):
    """A pre-exec hook: bind the child to `cpus` and have it die with the benchmark."""
    def hook() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    return hook


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            argv = list(proc.args) if isinstance(proc.args, (list, tuple)) else [proc.args]
            raise RuntimeError(f"{str(argv[0])} exited with {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def tree_pids(pid: int) -> list[int]:
    """`pid` and all its descendants (from /proc/<pid>/task/<tid>/children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def pin_tree(pid: int, cpus: set[int]) -> None:
    """Bind every thread of `pid` and its descendants to `cpus`."""
    for proc in tree_pids(pid):
        try:
            for task in Path(f"/proc/{proc}/task").iterdir():
                os.sched_setaffinity(int(task.name), cpus)
        except OSError:
            pass


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of `pids` (each with all its threads), in seconds."""
    total = 0
    for pid in pids:
        try:
            total += cpu_ticks(Path(f"/proc/{pid}/stat").read_text())
        except OSError:
            pass
    return total / CLOCK_TICKS


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Upstream:
    """The Face stand-in (nginx, one worker) on 127.0.0.1, bound to `cpus`."""

    def __init__(self, nginx: str, work: Path, cert: Path, key: Path, cpus: set[int] | None):
        self.dir = work / "upstream"
        self.dir.mkdir(exist_ok=True)
        self.port = free_port()
        self.log = self.dir / "connections.log"
        conf = self.dir / "nginx.conf"
        conf.write_text(UPSTREAM_CONF.format(dir=self.dir, port=self.port, cert=cert, key=key))
        self.proc = subprocess.Popen(
            [nginx, "-p", str(self.dir), "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=preexec(cpus))
        wait_port(self.port, self.proc)
        if cpus:
            pin_tree(self.proc.pid, cpus)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def connections(self) -> int:
        """New TLS connections accepted so far."""
        try:
            return count_lines(self.log.read_text())
        except FileNotFoundError:
            return 0

    def stop(self) -> None:
        stop(self.proc)


class HAProxy:
    """HAProxy (foreground, one process) running `config_text`, bound to `cpus`."""

    def __init__(self, binary: str, config_text: str, work: Path, port: int,
                 cpus: set[int] | None):
        conf = work / "haproxy.cfg"
        conf.write_text(config_text)
        check = subprocess.run([binary, "-c", "-q", "-f", str(conf)], capture_output=True,
                               text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy -c refused the peer config: {check.stdout}{check.stderr}")
        self.proc = subprocess.Popen(
            [binary, "-db", "-f", str(conf)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec(cpus))
        wait_port(port, self.proc)
        if cpus:
            pin_tree(self.proc.pid, cpus)

    def pids(self) -> list[int]:
        return tree_pids(self.proc.pid)

    def stop(self) -> None:
        stop(self.proc)


def run_wrk(url: str, connections: int, threads: int, seconds: float, script: Path,
            body_file: Path, cpus: set[int] | None) -> dict:
    return run_wrk_windowed(url, connections, threads, seconds, script, body_file, cpus)[0]


def run_wrk_windowed(url: str, connections: int, threads: int, seconds: float, script: Path,
                     body_file: Path, cpus: set[int] | None,
                     window: tuple[float, float] | None = None,
                     sample: Callable[[], Any] | None = None) -> tuple[dict, float, Any, Any]:
    """Run wrk; with `window` (start, end seconds after wrk starts) call `sample` at both ends.

    Returns wrk's figures, the window's measured length, and the two samples.
    """
    cmd = ["wrk", "-c", str(connections), "-t", str(threads), "-d", f"{seconds:g}s",
           "--timeout", "10s", "-s", str(script), url]
    env = dict(os.environ, BENCH_BODY_FILE=str(body_file))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=preexec(cpus))
    started = time.monotonic()
    first = second = None
    length = 0.0
    try:
        if window and sample:
            time.sleep(max(0.0, started + window[0] - time.monotonic()))
            at_first, first = time.monotonic(), sample()
            time.sleep(max(0.0, started + window[1] - time.monotonic()))
            second, length = sample(), time.monotonic() - at_first
        stdout, stderr = proc.communicate(timeout=seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    try:
        if proc.returncode != 0:
            raise ValueError(f"exit code {proc.returncode}")
        return parse_wrk(stdout), length, first, second
    except ValueError as exc:
        raise RuntimeError(f"wrk failed ({exc}): {stdout[-2000:]}\n{stderr[-2000:]}") from None
