"""The benchmark's production-day harness measures what it claims, on a real nginx: the drain
figure counts the uploads a stop cuts, and a command that drains on SIGTERM scores them all."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "tests" / "proxy")]

from proxykit.harness import FACE_HOST, settings  # noqa: E402
from proxykit.pki import TestCA  # noqa: E402

from infra.proxy.runner import find_nginx  # noqa: E402

MOUNT = "/etc/nginx-liveness"
PLAIN = {"command": ["nginx"], "args": ["-c", f"{MOUNT}/nginx.conf", "-g", "daemon off;"],
         "volumeMounts": [{"volumeName": "nginx-config", "mountPath": MOUNT}]}
# A command that turns the platform's SIGTERM into nginx's graceful stop (SIGQUIT).
DRAINING = dict(PLAIN, command=["/bin/sh", "-c"], args=[
    f"nginx -c {MOUNT}/nginx.conf -g 'daemon off;' & pid=$!; "
    "trap 'kill -QUIT $pid' TERM; wait $pid; wait $pid"])


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    work = tmp_path_factory.mktemp("day-pki")
    work.chmod(0o755)
    ca = TestCA(work, "bench")
    cert = ca.issue("face", [FACE_HOST])
    cert.key.chmod(0o644)
    return ca, cert


def _drain(container: dict, tmp_path: Path, tls) -> dict:
    try:
        nginx = find_nginx()
    except Exception:  # noqa: BLE001 - the proxy tests' conftest decides whether that fails
        pytest.skip("nginx not installed")
    from bench_day_rounds import run_drain
    from bench_stack import SHIPPED_CONFIG_MARK

    ca, cert = tls
    tmp_path.chmod(0o755)
    return run_drain(settings(), dict(container, mounted_files={"nginx.conf": SHIPPED_CONFIG_MARK}),
                     tmp_path / "drain", ca, cert, nginx, cpus=set())


def test_a_command_that_drains_on_sigterm_answers_every_upload(tmp_path, tls) -> None:
    result = _drain(DRAINING, tmp_path, tls)
    assert result["completed"] == result["in_flight"] == 20, result
    assert result["exit_seconds"] is not None


def test_control_plain_nginx_cuts_the_uploads_in_flight(tmp_path, tls) -> None:
    """nginx's fast shutdown on SIGTERM: the figure must show the cut uploads."""
    result = _drain(PLAIN, tmp_path, tls)
    assert result["completed"] == 0 and result["cut"] == 20, result
