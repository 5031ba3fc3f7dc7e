"""The dev stack as the benchmark runs it: its proxy settings and container declaration (from the
offline evaluation of the Pulumi program), the load, the route, and the wrk script that drives it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from proxykit.pki import CertFiles, TestCA

from components.proxy_settings import ProxySettings

PROJECT = Path(__file__).resolve().parents[1]
FACE_HOST = "fl-bench-face.cognitiveservices.azure.com"
ROUTE = "/face/v1.2/detectLiveness/singleModal"
DEV_STACK = "dev"
CONTAINER_APP_TYPE = "azure-native:app:ContainerApp"
LOAD_FACTOR = 4  # the load: this many times the dev stack's scale-rule concurrency

# wrk script: POST a fixed body; print the counts and latency percentiles (µs) as one JSON line.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Authorization"] = "Bearer bench-token"
local f = io.open(os.getenv("BENCH_BODY_FILE"), "rb")
wrk.body = f:read("*a")
f:close()
-- The load stands for many end users behind the Container Apps ingress: the ingress (loopback,
-- a trusted peer here) appends each user's address to X-Forwarded-For, so the per-client caps
-- apply per user, as in production, not to the whole load at once.
local user = 0
request = function()
  user = user % 250 + 1
  return wrk.format(nil, nil, {
    ["Content-Type"] = "application/octet-stream",
    ["Authorization"] = "Bearer bench-token",
    ["X-Forwarded-For"] = "198.51.100." .. user,
  })
end
done = function(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


def dev_stack() -> tuple[ProxySettings, dict]:
    """The dev stack's proxy settings and the container the dev stack declares (command, args,
    resources), from the offline evaluation of its Pulumi program (no credentials, no network):
    the benchmark measures whatever the shipped code renders and declares, not a copy of it."""
    # In a child process: the Pulumi runtime leaves gRPC threads behind, and the benchmark forks.
    found = subprocess.run([sys.executable, "-c", _DEV_STACK_SCRIPT, DEV_STACK, CONTAINER_APP_TYPE,
                            SHIPPED_CONFIG_MARK],
                           capture_output=True, text=True, timeout=120, cwd=PROJECT)
    if found.returncode != 0:
        raise RuntimeError(f"evaluating the {DEV_STACK} stack offline failed: {found.stderr[-2000:]}")
    data = json.loads(found.stdout.strip().splitlines()[-1])
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data["settings"].items()}
    return ProxySettings(**fields), data["container"]


# Prints the dev stack's ProxySettings and its container declaration, with the files mounted into
# the container (volume path -> text; the rendered nginx.conf as SHIPPED_CONFIG_MARK).
_DEV_STACK_SCRIPT = """
import dataclasses, json, sys
from components.proxy_config import render_nginx_config
from infra.plan.offline import evaluate_stack
evaluation = evaluate_stack(sys.argv[1])
app = evaluation.one(sys.argv[2]).inputs
(container,) = app["template"]["containers"]
ps = evaluation.settings.proxy_settings()
secrets = {s["name"]: s["value"] for s in app["configuration"].get("secrets", [])}
shipped = render_nginx_config(ps)
files = {}
for volume in app["template"].get("volumes", []):
    for item in volume.get("secrets", []):
        text = secrets.get(item["secretRef"], "")
        files[item["path"]] = sys.argv[3] if text == shipped else text
container["mounted_files"] = files
print(json.dumps({"settings": dataclasses.asdict(ps), "container": container}, default=str))
"""
SHIPPED_CONFIG_MARK = "<the rendered nginx.conf>"


def dev_bench_settings(cpu: float | None = None) -> tuple[ProxySettings, int, dict]:
    """The dev stack's settings, except what a benchmark from one address needs: loopback trusted
    as the ingress (the load spreads over 250 end-user addresses in X-Forwarded-For), a rate limit it
    never reaches, the account hostname of the stand-in's certificate and the CPUs this run gives
    the proxy (None: the dev replica's own vCPU, which renders the one worker a pinned run
    gives one CPU). Returns them with the load (4x the dev scale rule's concurrency, the burst before
    new replicas are ready) and the dev container's declaration. `proxy serve` replaces the
    upstream address with the stand-in's loopback address (ServeOptions.face_address)."""
    dev, container = dev_stack()
    settings = replace(dev, face_host=FACE_HOST, rate_limit_per_second=100_000,
                       rate_limit_burst=100_000, cpu=dev.cpu if cpu is None else cpu,
                       trusted_proxy_cidrs=(*dev.trusted_proxy_cidrs, "127.0.0.1/32"))
    return settings, LOAD_FACTOR * dev.concurrent_requests, container


def memory_mb(text: str) -> float:
    """A Container Apps memory size ("1Gi", "0.5Gi", "512Mi") in MB."""
    units = {"Gi": 1024.0, "Mi": 1.0}
    for unit, scale in units.items():
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    raise ValueError(f"container memory: received {text!r}; expected a size in Gi or Mi")


def run_files(work: Path) -> tuple[TestCA, CertFiles, Path, Path]:
    """What a run needs in `work`: a throw-away CA, the upstream stand-in's certificate for FACE_HOST,
    the wrk script and the 6 KB body it posts."""
    ca = TestCA(work, "bench")
    cert = ca.issue("face", [FACE_HOST])
    cert.key.chmod(0o644)  # throw-away key, read by the upstream nginx master
    body = work / "body-6k.bin"
    body.write_bytes(os.urandom(6 * 1024))
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)
    return ca, cert, script, body
