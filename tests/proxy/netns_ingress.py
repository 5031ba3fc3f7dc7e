"""Run inside a fresh network namespace (``unshare -n``): an ingress stand-in connects to a real
nginx proxy from Container Apps platform addresses (100.100.x) and from an untrusted address, all
on the namespace's own loopback interface. Prints one JSON object with what happened.

Used by tests/proxy/test_client_ip.py; nothing here touches the host's network.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from proxykit.harness import FACE_HOST, settings  # noqa: E402
from proxykit.pki import TestCA  # noqa: E402
from proxykit.rawhttp import build_request, read_status  # noqa: E402
from proxykit.standin import FaceStandin  # noqa: E402

from components.proxy_settings import CONTAINER_APPS_PLATFORM_CIDRS  # noqa: E402
from infra.proxy.runner import ProxyProcess, ServeOptions  # noqa: E402

INGRESS_ADDRESSES = ("100.100.0.5", "100.100.160.9")   # platform ranges of a workload-profiles env
UNTRUSTED_ADDRESS = "198.51.100.10"                       # something else in the VNet
ROUTE = "/face/v1.2/session/start"


def setup_namespace() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for address in (*INGRESS_ADDRESSES, UNTRUSTED_ADDRESS):
        subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], check=True)


def send_from(source: str, port: int, forwarded_for: str | None) -> int:
    headers = [("X-Forwarded-For", forwarded_for)] if forwarded_for else []
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as sock:
        sock.sendall(build_request("POST", ROUTE, headers, b"{}"))
        return read_status(sock)


def main(argv: list[str]) -> int:
    """argv[0]: "default" (apps subnet + platform ranges trusted) or "apps-subnet-only"."""
    trusted = ("10.40.0.0/23", *CONTAINER_APPS_PLATFORM_CIDRS) if argv[0] == "default" \
        else ("10.40.0.0/23",)
    setup_namespace()
    work = Path(tempfile.mkdtemp(prefix="netns-ingress-"))
    ca = TestCA(work, "netns")
    cert = ca.issue("face", [FACE_HOST])
    result: dict[str, object] = {}
    with FaceStandin("127.0.0.1", 0, str(cert.cert), str(cert.key)) as face:
        log = open(work / "access.log", "wb")
        proxy = ProxyProcess(
            settings(rate_limit_per_second=1, rate_limit_burst=3, allow_options=False,
                     trusted_proxy_cidrs=trusted),
            ServeOptions(listen="127.0.0.1:18080", health_listen="127.0.0.1:18081",
                         face_address=face.address, trusted_ca=str(ca.cert_path)),
            stdout=log, stderr=subprocess.DEVNULL)
        with proxy:
            # One real client, 203.0.113.7, through ingress instances on two platform addresses,
            # writing a different X-Forwarded-For of its own every time.
            spoofed = [send_from(INGRESS_ADDRESSES[i % 2], 18080, f"192.0.2.{i}, 203.0.113.7")
                       for i in range(8)]
            # Another client behind the same ingress has its own allowance.
            other = [send_from(INGRESS_ADDRESSES[0], 18080, "198.51.100.23") for _ in range(2)]
            # A peer outside the trusted ranges cannot choose its key with X-Forwarded-For.
            direct = [send_from(UNTRUSTED_ADDRESS, 18080, f"203.0.113.{100 + i}") for i in range(8)]
            time.sleep(0.3)
        log.close()
        result = {
            "spoofed": spoofed, "other": other, "direct": direct,
            "log": [json.loads(line) for line in (work / "access.log").read_text().splitlines()],
            "face_requests": len(face.records),
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["default"]))
