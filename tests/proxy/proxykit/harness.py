"""Shared names of the proxy tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from components.access_log import ACCESS_LOG_FLUSH_SECONDS
from components.proxy_settings import ProxySettings
from infra.proxy.runner import ProxyProcess

FACE_HOST = "fl-test-face.cognitiveservices.azure.com"
LOOPBACK = "127.0.0.1"
# How long a test waits for its access-log lines: nginx writes them at most
# ACCESS_LOG_FLUSH_SECONDS after the response, plus room for a busy machine.
LOG_WAIT_SECONDS = ACCESS_LOG_FLUSH_SECONDS + 4.0


_HANDED_OUT: set[int] = set()


def free_port(host: str = LOOPBACK) -> int:
    """A port the kernel reports free, never one this process handed out before: two calls in a
    row (a listen and a health port) can otherwise get the same port back."""
    for _ in range(100):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.bind((host, 0))
            port = sock.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError(f"no fresh free port on {host} in 100 tries")


@dataclass
class RunningProxy:
    process: ProxyProcess
    host: str
    port: int
    health_port: int
    stdout_path: Path
    stderr_path: Path

    @property
    def runtime_dir(self) -> Path:
        """nginx's prefix directory (config, temp paths), which exists while the proxy runs."""
        assert self.process.runtime_dir is not None, "the proxy is not running"
        return self.process.runtime_dir

    def access_log(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def access_log_entries(self, until: Callable[[list[dict]], bool],
                           timeout: float = LOG_WAIT_SECONDS) -> list[dict]:
        """The JSON access-log entries once `until(entries)` holds, or as they are at `timeout`.

        nginx buffers the access log (ACCESS_LOG_FLUSH_SECONDS), so a request's line appears up
        to that long after its response: a test reads the log when the lines it expects are in.
        """
        deadline = time.monotonic() + timeout
        while True:
            entries = [json.loads(line) for line in self.access_log().splitlines() if line.strip()]
            if until(entries) or time.monotonic() >= deadline:
                return entries
            time.sleep(0.05)

    def error_log(self) -> str:
        return self.stderr_path.read_text(errors="replace")


# The main proxy: generous rate limit and memory-derived caps (rate limiting and the caps have
# their own instances: the hostile corpus sends 24 requests at once from one address, chunked ones
# among them, which a 1Gi replica's per-client chunked cap would answer with 429 before nginx
# judges their framing), short client timeouts so slow-client cases finish quickly, OPTIONS
# enabled so its forwarding is tested.
MAIN_SETTINGS = ProxySettings(
    face_host=FACE_HOST,
    allow_options=True,
    rate_limit_per_second=10_000,
    rate_limit_burst=10_000,
    trusted_proxy_cidrs=("127.0.0.0/8",),
    client_timeout_seconds=2,
    upstream_timeout_seconds=3,
    # The shipped address is replaced by the stand-in's (LocalRun.face_address) in every test.
    upstream_address="10.40.2.4",
    cpu=1.0,
    memory="32Gi",
)


def settings(**changes: Any) -> ProxySettings:
    return replace(MAIN_SETTINGS, **changes)
