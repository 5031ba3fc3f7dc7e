"""A replica told to stop drains: nginx started with exactly the command and arguments the
container app declares finishes the uploads in flight across the platform's SIGTERM, closes its
listeners (the health port too, so readiness fails) and exits. The control starts plain `nginx`
(the command the app declared before) and shows SIGTERM cuts the same uploads."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from proxykit.harness import LOOPBACK, free_port, settings
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin

from components.proxy_app import CONFIG_DIR, CONFIG_FILE, CONTAINER_ARGS, CONTAINER_COMMAND
from components.proxy_settings import WORKER_SHUTDOWN_TIMEOUT_SECONDS
from infra.proxy.runner import ProxyProcess, ServeOptions, find_nginx
from tests.required_tools import required_tool

ROUTE = "/face/v1.2/detectLiveness/singleModal"
UPLOADS = 6
PIECES, PIECE_BYTES, PAUSE = 8, 2000, 0.25       # each upload takes about 2 s
SHIPPED_CONFIG = f"{CONFIG_DIR}/{CONFIG_FILE}"
PLAIN_NGINX = (["nginx"], ["-c", SHIPPED_CONFIG, "-g", "daemon off;"])   # the old command


def _connectable(port: int) -> bool:
    try:
        socket.create_connection((LOOPBACK, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _start_container(tmp_path: Path, pki, face: FaceStandin, command: list[str],
                     args: list[str], edit=lambda text: text) -> tuple[subprocess.Popen, int, int]:
    """Run `command + args` as the container would, the shipped config path replaced by a local
    render (only listen addresses, upstream address, CA and runtime paths differ)."""
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    if os.geteuid() == 0:
        runtime.chmod(0o711)   # nginx workers drop to an unprivileged user
    shutil.copy(pki.ca.cert_path, runtime / "upstream-ca.pem")
    (runtime / "upstream-ca.pem").chmod(0o644)
    port, health = free_port(), free_port()
    options = ServeOptions(listen=f"{LOOPBACK}:{port}", health_listen=f"{LOOPBACK}:{health}",
                           face_address=face.address, trusted_ca=str(pki.ca.cert_path))
    conf = runtime / "nginx.conf"
    conf.write_text(edit(ProxyProcess(settings(), options).render(runtime)))
    argv = command + [a.replace(SHIPPED_CONFIG, str(conf)) for a in args]
    env = dict(os.environ, PATH=f"{Path(find_nginx()).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    log = open(tmp_path / "container.log", "wb")
    process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               start_new_session=True)
    log.close()
    deadline = time.monotonic() + 10
    while not _connectable(health):
        assert process.poll() is None and time.monotonic() < deadline, \
            (tmp_path / "container.log").read_text()
        time.sleep(0.05)
    return process, port, health


def _slow_upload(port: int, index: int):
    body = bytes([65 + index]) * (PIECES * PIECE_BYTES)
    head = build_request("POST", ROUTE, [("Content-Length", str(len(body))),
                                         ("X-Forwarded-For", f"192.0.2.{10 + index}")],
                         content_length=False)
    pieces = [head + body[:PIECE_BYTES]] + \
        [body[i:i + PIECE_BYTES] for i in range(PIECE_BYTES, len(body), PIECE_BYTES)]
    return exchange(LOOPBACK, port, pieces, pause=PAUSE, timeout=15), body


def _stop_during_uploads(tmp_path: Path, pki, command: list[str], args: list[str]):
    with FaceStandin(LOOPBACK, 0, pki.face_cert, pki.face_key) as face:
        process, port, health = _start_container(tmp_path, pki, face, command, args)
        try:
            with ThreadPoolExecutor(UPLOADS) as pool:
                futures = [pool.submit(_slow_upload, port, i) for i in range(UPLOADS)]
                time.sleep(3 * PAUSE)                      # every upload is in flight
                process.send_signal(signal.SIGTERM)        # what the platform sends (to PID 1)
                time.sleep(0.3)
                listening = _connectable(port), _connectable(health)
                results = [f.result() for f in futures]
            code = process.wait(20)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        complete = [r for r in face.records if r.body]
        return results, listening, code, complete


def test_the_declared_command_drains_uploads_in_flight_across_sigterm(tmp_path, pki) -> None:
    results, listening, code, complete = _stop_during_uploads(
        tmp_path, pki, list(CONTAINER_COMMAND), list(CONTAINER_ARGS))
    statuses = [r.status for r, _body in results]
    print(f"\ndeclared command: {statuses.count(200)} of {UPLOADS} uploads completed across SIGTERM")
    assert statuses == [200] * UPLOADS, statuses
    assert sorted(r.body for r in complete) == sorted(body for _r, body in results)
    assert listening == (False, False), "after SIGTERM the listeners (and readiness) must close"
    assert code == 0, "the container exits cleanly once drained"


def test_control_plain_nginx_cuts_uploads_on_sigterm(tmp_path, pki) -> None:
    results, _listening, _code, complete = _stop_during_uploads(tmp_path, pki, *PLAIN_NGINX)
    statuses = [r.status for r, _body in results]
    print(f"\nplain nginx: {statuses.count(200)} of {UPLOADS} uploads completed across SIGTERM")
    assert statuses.count(200) == 0, statuses
    assert complete == []


@pytest.mark.parametrize("shell", ["dash", "busybox"])
def test_the_drain_script_runs_on_the_images_shells(tmp_path, pki, shell: str) -> None:
    """The Alpine image's /bin/sh is busybox ash, Debian's is dash: the script works in both."""
    path = required_tool(shell, shell)
    command = [path, "sh", "-c"] if shell == "busybox" else [path, "-c"]
    results, listening, code, _complete = _stop_during_uploads(tmp_path, pki, command, list(CONTAINER_ARGS))
    assert [r.status for r, _b in results] == [200] * UPLOADS
    assert listening == (False, False) and code == 0


def _trickle_through_a_stop(tmp_path: Path, pki, edit) -> tuple[float, int | None]:
    """Start the declared command, open an upload that trickles one byte every 0.2 s for up to
    5 s, send SIGTERM, and return how long the container took to exit (or 5 if it had not)."""
    with FaceStandin(LOOPBACK, 0, pki.face_cert, pki.face_key) as face:
        process, port, _health = _start_container(tmp_path, pki, face, list(CONTAINER_COMMAND),
                                                  list(CONTAINER_ARGS), edit)
        sock = socket.create_connection((LOOPBACK, port), timeout=5)
        try:
            sock.sendall(build_request("POST", ROUTE, [("Content-Length", "100")], content_length=False))
            time.sleep(0.3)
            process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            for _ in range(25):
                if process.poll() is not None:
                    break
                try:
                    sock.sendall(b"x")
                except OSError:
                    pass
                time.sleep(0.2)
            took = time.monotonic() - stopped
            return took, process.poll()
        finally:
            sock.close()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def _shutdown_timeout(seconds: str):
    return lambda text: text.replace(f"worker_shutdown_timeout {WORKER_SHUTDOWN_TIMEOUT_SECONDS}s;",
                                     f"worker_shutdown_timeout {seconds};")


def test_a_trickling_client_cannot_hold_the_drain_past_worker_shutdown_timeout(tmp_path, pki) -> None:
    """The shipped 45 s is shortened to 1 s here: the drain ends at the timeout, not when the
    trickling client would finish."""
    took, code = _trickle_through_a_stop(tmp_path, pki, _shutdown_timeout("1s"))
    print(f"\nworker_shutdown_timeout 1s: a trickling upload held the stop for {took:.1f} s")
    assert code is not None and took < 4


def test_control_without_worker_shutdown_timeout_a_trickling_client_holds_the_stop(tmp_path, pki) -> None:
    took, code = _trickle_through_a_stop(
        tmp_path, pki, lambda text: "\n".join(l for l in text.splitlines()
                                              if not l.startswith("worker_shutdown_timeout")) + "\n")
    print(f"\nno worker_shutdown_timeout: still running {took:.1f} s after SIGTERM")
    assert code is None, "nginx stopped although the client was still sending"
