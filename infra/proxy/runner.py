"""Starting and stopping a real nginx with the shipped proxy configuration (``proxy serve``).

The configuration is rendered by :func:`components.proxy_config.render_nginx_config` with a
:class:`~components.proxy_settings.LocalRun`, which changes only listen addresses, the upstream
address, the CA bundle that verifies the upstream, and pid/temp paths.
Everything here is I/O; the configuration itself stays pure in components/proxy_config.py.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from components.proxy_config import render_nginx_config
from components.proxy_routes import HEALTH_PATH
from components.proxy_settings import LocalRun, ProxyConfigError, ProxySettings, split_host_port
from infra.errors import UserError

NGINX_FALLBACK_PATHS: tuple[str, ...] = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
READY_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0


def _load_prctl():
    """libc's prctl, looked up in the parent: the pre-exec hook must not import or allocate."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None


_PRCTL = _load_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: on Linux, have the kernel send SIGTERM to nginx if the process
    that started it dies without stopping it (e.g. SIGKILL), so no orphan keeps the ports.
    The kernel ties this to the starting *thread*: start the proxy from a long-lived thread."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


class NginxNotFound(UserError):
    """No nginx binary on this machine."""


class NginxFailed(RuntimeError):
    """nginx exited or never became ready."""


def find_nginx(explicit: str | None = None) -> str:
    """The nginx binary: ``explicit``, else PATH, else the usual sbin paths."""
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise NginxNotFound(f"--nginx: {explicit!r} is not an executable file")
    found = shutil.which("nginx")
    if found:
        return found
    for candidate in NGINX_FALLBACK_PATHS:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise NginxNotFound(
        "nginx: not found on PATH or in /usr/sbin; expected a stock nginx "
        "(Debian: apt-get install nginx-light)")


@dataclass(frozen=True)
class ServeOptions:
    """What `proxy serve` changes for a local run, as given on the command line."""

    listen: str
    health_listen: str
    face_address: str
    trusted_ca: str


def _read_ca(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"--trusted-ca: cannot read {path!r} ({exc.strerror}); expected a PEM "
                        "file of CA certificates") from None
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise UserError(f"--trusted-ca: {path!r} holds no PEM certificate; expected a PEM file "
                        "of CA certificates")
    return data


class ProxyProcess:
    """One nginx master running the proxy configuration, in the foreground, until stopped.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. The runtime directory
    (config, CA copy, pid and temp files) is created on start and removed on stop.
    """

    def __init__(self, settings: ProxySettings, options: ServeOptions, *, nginx: str | None = None,
                 stdout: IO | int | None = None, stderr: IO | int | None = None):
        self.settings = settings
        self.options = options
        self.nginx = find_nginx(nginx)
        self.stdout = stdout
        self.stderr = stderr
        self.runtime_dir: Path | None = None
        self.config_text: str | None = None
        self.process: subprocess.Popen | None = None
        self.health_host, self.health_port = self._split("--health-listen", options.health_listen)
        self.listen_host, self.listen_port = self._split("--listen", options.listen)

    @staticmethod
    def _split(flag: str, value: str) -> tuple[str, int]:
        try:
            return split_host_port(flag, value, allow_hostname=False)
        except ProxyConfigError as exc:
            raise UserError(str(exc)) from None

    # -- lifecycle ------------------------------------------------------------------------------

    def render(self, runtime_dir: Path) -> str:
        local = LocalRun(
            listen=self.options.listen,
            health_listen=self.options.health_listen,
            face_address=self.options.face_address,
            ca_bundle=str(runtime_dir / "upstream-ca.pem"),
            runtime_dir=str(runtime_dir),
        )
        names = {"listen": "--listen", "health_listen": "--health-listen",
                 "face_address": "--face-address"}
        try:
            return render_nginx_config(self.settings, local)
        except ProxyConfigError as exc:
            flag = names.get(exc.name)
            raise UserError(str(exc).replace(exc.name, flag, 1) if flag else str(exc)) from None

    def start(self, ready_timeout: float = READY_TIMEOUT_SECONDS) -> "ProxyProcess":
        ca = _read_ca(self.options.trusted_ca)
        runtime_dir = Path(tempfile.mkdtemp(prefix="liveness-proxy-"))
        self.runtime_dir = runtime_dir
        try:
            if os.geteuid() == 0:
                # nginx workers drop to an unprivileged user; they must reach the temp dirs.
                runtime_dir.chmod(0o711)
            (runtime_dir / "upstream-ca.pem").write_bytes(ca)
            (runtime_dir / "upstream-ca.pem").chmod(0o644)
            self.config_text = self.render(runtime_dir)
            conf = runtime_dir / "nginx.conf"
            conf.write_text(self.config_text)
            self.process = subprocess.Popen(
                [self.nginx, "-p", str(runtime_dir), "-c", str(conf), "-e", "stderr",
                 "-g", "daemon off;"],
                stdin=subprocess.DEVNULL, stdout=self.stdout, stderr=self.stderr,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
            self._wait_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            code = self.process.poll() if self.process else None
            if code is not None:
                raise NginxFailed(f"nginx exited with code {code} while starting "
                                  "(its own message is above)")
            try:
                conn = http.client.HTTPConnection(self.health_host, self.health_port, timeout=1)
                try:
                    conn.request("GET", HEALTH_PATH)
                    if conn.getresponse().status == 200:
                        return
                finally:
                    conn.close()
            except OSError as exc:
                last_error = str(exc)
            time.sleep(0.05)
        raise NginxFailed(f"nginx did not answer {HEALTH_PATH} on {self.options.health_listen} "
                          f"within {timeout:.0f}s ({last_error})")

    def wait(self) -> int:
        assert self.process is not None
        return self.process.wait()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> int | None:
        """Graceful stop (SIGQUIT), then SIGTERM, then SIGKILL; always removes the runtime dir."""
        code = None
        try:
            proc = self.process
            if proc is not None:
                for sig, wait_for in ((signal.SIGQUIT, timeout), (signal.SIGTERM, 5.0),
                                      (signal.SIGKILL, 5.0)):
                    if proc.poll() is not None:
                        break
                    try:
                        proc.send_signal(sig)
                        proc.wait(wait_for)
                    except subprocess.TimeoutExpired:
                        continue
                    except ProcessLookupError:
                        break
                code = proc.poll()
        finally:
            if self.runtime_dir is not None:
                shutil.rmtree(self.runtime_dir, ignore_errors=True)
                self.runtime_dir = None
        return code

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def worker_pids(self) -> list[int]:
        """The nginx worker processes (children of the master), from /proc."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def __enter__(self) -> "ProxyProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
