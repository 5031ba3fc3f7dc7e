"""The access log is buffered per worker (a write per buffer, not per request) and no line is lost
when the proxy stops, gracefully (SIGQUIT: the drain) or fast (SIGTERM). docs/proxy.md#logs."""

from __future__ import annotations

import http.client
import signal

import pytest

from components import access_log, proxy_config
from proxykit.harness import LOOPBACK, MAIN_SETTINGS
from proxykit.standin import FaceStandin

REQUESTS = 3  # a few short lines: far less than the buffer, so only a flush writes them


def _serve_then_stop(proxy_factory, standin: FaceStandin, monkeypatch, sig: signal.Signals) -> tuple[int, int]:
    """(lines written before the stop signal, lines written once the proxy exited)."""
    # A flush interval no test outlives: only the stop (or a full buffer) can write the lines.
    monkeypatch.setattr(access_log, "ACCESS_LOG_FLUSH_SECONDS", 600)
    proxy = proxy_factory(MAIN_SETTINGS, standin.address)
    assert "flush=600s" in proxy.process.config_text
    for _ in range(REQUESTS):
        conn = http.client.HTTPConnection(LOOPBACK, proxy.port, timeout=10)
        conn.request("POST", "/face/v1.2/session/start", body=b"{}")
        assert conn.getresponse().status == 200
        conn.close()
    before = len(proxy.access_log().splitlines())
    proxy.process.process.send_signal(sig)
    proxy.process.process.wait(20)
    return before, len(proxy.access_log().splitlines())


@pytest.mark.parametrize("sig", [signal.SIGQUIT, signal.SIGTERM], ids=["graceful", "fast"])
def test_stopping_writes_every_buffered_line(proxy_factory, standin, monkeypatch, sig) -> None:
    before, after = _serve_then_stop(proxy_factory, standin, monkeypatch, sig)
    assert before == 0, "the lines were written before the stop: the buffer was not in play"
    assert after == REQUESTS


def test_control_a_killed_worker_loses_its_buffer(proxy_factory, standin, monkeypatch) -> None:
    """Control: SIGKILL skips the flush, so the test above would see the lines missing if a stop
    did not write the buffer."""
    before, after = _serve_then_stop(proxy_factory, standin, monkeypatch, signal.SIGKILL)
    assert (before, after) == (0, 0)


def test_buffer_fits_one_atomic_pipe_write() -> None:
    """Several workers share the container's stdout pipe: a buffer over PIPE_BUF (4096 bytes on
    Linux) could interleave two workers' lines."""
    assert access_log.ACCESS_LOG_BUFFER_BYTES <= 4096
    rendered = proxy_config.render_nginx_config(MAIN_SETTINGS)
    assert (f"access_log /dev/stdout liveness_json buffer={access_log.ACCESS_LOG_BUFFER_BYTES} "
            f"flush={access_log.ACCESS_LOG_FLUSH_SECONDS}s;") in rendered
