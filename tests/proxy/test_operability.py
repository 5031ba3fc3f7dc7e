"""Health endpoint, access log, no version disclosure, and the `proxy render|serve` commands."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from proxykit.harness import LOOPBACK, RunningProxy, free_port
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin

from components.proxy_config import render_nginx_config
from components.proxy_routes import HEALTH_PATH
from infra.proxy.runner import find_nginx

PROJECT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "infra.cli"]


def test_health_endpoint_on_its_own_port(main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    ok = exchange(LOOPBACK, main_proxy.health_port, build_request("GET", HEALTH_PATH, []))
    assert ok.status == 200 and ok.responses[0].body == b"ok\n"
    assert exchange(LOOPBACK, main_proxy.health_port, build_request("GET", "/", [])).status == 404
    assert exchange(LOOPBACK, main_proxy.port, build_request("GET", HEALTH_PATH, [])).status == 404
    assert upstream.tls_connections == 0


def test_no_server_version_disclosed(main_proxy: RunningProxy) -> None:
    for target in ("/", "/face/v1.2/detect", "/face/v1.2/session/start/"):
        response = exchange(main_proxy.host, main_proxy.port, build_request("POST", target, [], b"{}"))
        got = response.responses[0]
        assert got.header("server") == [b"nginx"]
        assert not re.search(rb"\d+\.\d+\.\d+", got.raw_head + got.body)


def test_access_log_is_json_with_the_useful_fields_and_no_secrets(main_proxy: RunningProxy,
                                                                  upstream: FaceStandin) -> None:
    sent = build_request("POST", "/face/v1.2/session/start?trace=on",
                         [("Authorization", "Bearer LOG-SECRET-TOKEN"),
                          ("Cookie", "sid=LOG-SECRET-COOKIE"), ("X-Request-Id", "ingress-4242"),
                          ("X-Forwarded-For", "192.0.2.33")], b'{"image":"LOG-SECRET-BODY"}')
    assert exchange(main_proxy.host, main_proxy.port, sent).status == 200
    entry = None
    deadline = time.monotonic() + 3
    while entry is None and time.monotonic() < deadline:
        entry = next((json.loads(line) for line in main_proxy.access_log().splitlines()
                      if "ingress-4242" in line), None)
        time.sleep(0.05)
    assert entry is not None
    assert re.fullmatch(r"[0-9a-f]{32}", entry["request_id"])
    assert entry["client_ip"] == "192.0.2.33" and entry["peer_ip"] == "127.0.0.1"
    assert entry["status"] == 200 and entry["upstream_status"] == "200"
    assert entry["request_length"] == len(sent) and entry["bytes_sent"] > 0
    assert float(entry["upstream_response_time"]) >= 0 and float(entry["request_time"]) >= 0
    assert entry["method"] == "POST" and entry["target"] == "/face/v1.2/session/start?trace=on"
    everything = main_proxy.access_log() + main_proxy.error_log()
    for secret in ("LOG-SECRET-TOKEN", "LOG-SECRET-COOKIE", "LOG-SECRET-BODY"):
        assert secret not in everything
    # The stand-in did get the credentials: the proxy forwards them, it just never logs them.
    assert upstream.records[0].header("authorization") == [b"Bearer LOG-SECRET-TOKEN"]


# -- the commands ------------------------------------------------------------------------------


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + list(args), cwd=PROJECT, capture_output=True, text=True,
                          timeout=timeout)


def stack_settings(stack: str):
    from infra.config.loader import load_stack_settings

    return load_stack_settings(stack).proxy_settings()


def stacks() -> list[str]:
    # The shipped examples by name (tests/shipped_stacks.py; this directory is not a package):
    # a user's half-edited stack in stacks/ must not fail these.
    return ["dev", "pr", "prod", "staging"]


@pytest.mark.parametrize("stack", stacks())
def test_render_prints_the_shipped_config_and_nginx_accepts_it(stack: str, tmp_path: Path) -> None:
    result = run_cli("proxy", "render", "--stack", stack)
    assert result.returncode == 0, result.stderr
    assert result.stdout == render_nginx_config(stack_settings(stack))
    # nginx -t on that exact text; only the runtime directory moves out of the shared /tmp.
    conf = tmp_path / "nginx.conf"
    conf.write_text(result.stdout.replace(" /tmp/nginx-liveness", f" {tmp_path}/nginx-liveness"))
    check = subprocess.run([find_nginx(), "-t", "-q", "-c", str(conf), "-e", "stderr"],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr


def _read_lines(stream, sink: list[str]) -> None:
    for line in stream:
        sink.append(line)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_runs_the_stack_config_and_stops_cleanly(pki, stop_signal: int, tmp_path: Path) -> None:
    face_host = stack_settings("dev").face_host
    cert = pki.ca.issue(f"dev-{stop_signal}", [face_host])
    port, health = free_port(), free_port()
    with FaceStandin(LOOPBACK, 0, str(cert.cert), str(cert.key)) as standin:
        proc = subprocess.Popen(
            CLI + ["proxy", "serve", "--stack", "dev", "--listen", f"{LOOPBACK}:{port}",
                   "--health-listen", f"{LOOPBACK}:{health}", "--face-address", standin.address,
                   "--trusted-ca", str(pki.ca.cert_path)],
            cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out: list[str] = []
        err: list[str] = []
        readers = [threading.Thread(target=_read_lines, args=(proc.stdout, out), daemon=True),
                   threading.Thread(target=_read_lines, args=(proc.stderr, err), daemon=True)]
        for reader in readers:
            reader.start()
        try:
            deadline = time.monotonic() + 20
            while not any("listening on" in line for line in err) and time.monotonic() < deadline:
                assert proc.poll() is None, "".join(err)
                time.sleep(0.05)
            banner = next(line for line in err if "listening on" in line)
            pid = re.search(r"nginx pid (\d+)", banner)
            assert pid is not None, banner
            nginx_pid = int(pid.group(1))
            # The master's title is "nginx: master process <binary> -p <dir> -c ...".
            title = Path(f"/proc/{nginx_pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            prefix = re.search(r" -p (\S+)", title)
            assert prefix is not None, title
            runtime_dir = Path(prefix.group(1))
            assert runtime_dir.is_dir()

            result = exchange(LOOPBACK, port, build_request(
                "POST", "/face/v1.2/session/start", [("Authorization", "Bearer cli")], b"{}"))
            assert result.status == 200
            # Host follows the stack's mode (default: the client's, unchanged); SNI is the account.
            expected_host = "liveness.example.test" if stack_settings("dev").upstream_host == "client" \
                else face_host
            assert standin.records[0].header("host") == [expected_host.encode()]
            assert standin.sni_names == [face_host]
            assert exchange(LOOPBACK, port, build_request("POST", "/face/v1.2/detect", [], b"{}")
                            ).status == 404

            proc.send_signal(stop_signal)
            assert proc.wait(20) == 0, "".join(err)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()  # nginx then gets SIGTERM from the kernel (PR_SET_PDEATHSIG)
                    proc.wait(5)
            for reader in readers:
                reader.join(5)
        assert not runtime_dir.exists(), "serve must remove its temp dir"
        assert not Path(f"/proc/{nginx_pid}").exists(), "nginx must be gone"
        assert "Traceback" not in "".join(err)
        assert any('"status":200' in line for line in out), "JSON access log goes to stdout"
        # stdout is the access log and nothing else: `proxy serve > access.log`, then
        # `logs --file access.log`, finds no malformed line (the start-up lines go to stderr).
        log_file = tmp_path / "access.log"
        log_file.write_text("".join(out))
        summary = run_cli("logs", "--file", str(log_file))
        assert summary.returncode == 0, summary.stderr
        assert "malformed" not in summary.stdout + summary.stderr, summary.stdout + summary.stderr


@pytest.mark.parametrize("args,flag", [
    (["--trusted-ca", "/nonexistent/ca.pem"], "--trusted-ca"),
    (["--listen", "0.0.0.0"], "--listen"),
    (["--health-listen", "127.0.0.1:99999"], "--health-listen"),
    (["--face-address", "evil;:443"], "--face-address"),
    (["--face-address", "face.example:443"], "--face-address"),
    (["--nginx", "/nonexistent/nginx"], "--nginx"),
])
def test_serve_mistakes_are_one_clear_line(pki, args: list[str], flag: str) -> None:
    base = {"--listen": f"{LOOPBACK}:{free_port()}", "--health-listen": f"{LOOPBACK}:{free_port()}",
            "--face-address": "127.0.0.1:1", "--trusted-ca": str(pki.ca.cert_path)}
    base.update(dict(zip(args[::2], args[1::2])))
    argv = ["proxy", "serve", "--stack", "dev"] + [x for kv in base.items() for x in kv]
    result = run_cli(*argv)
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_help_describes_both_commands() -> None:
    for sub in ("render", "serve"):
        result = run_cli("proxy", sub, "--help")
        assert result.returncode == 0 and "--stack" in result.stdout
    serve = run_cli("proxy", "serve", "--help").stdout
    for flag in ("--listen", "--health-listen", "--face-address", "--trusted-ca"):
        assert flag in serve
    assert "--resolver" not in serve, "the data path asks no DNS; there is no resolver to set"


def test_render_unknown_stack_is_a_clear_error() -> None:
    result = run_cli("proxy", "render", "--stack", "no-such-stack")
    assert result.returncode == 2
    assert "--stack" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="checks the root-only permission adjustment")
def test_runtime_dir_is_traversable_by_unprivileged_workers(main_proxy: RunningProxy) -> None:
    mode = main_proxy.runtime_dir.stat().st_mode & 0o777
    assert mode == 0o711
