"""Pure: the HAProxy 2.6 configuration the benchmark runs as the shipped proxy's peer.

Not shipped. It exists so `benchmarks/proxy_bench.py` can hold the shipped nginx configuration
against a well-known proxy doing the same job on the same machine in the same run. "The same job"
means, rendered from the same :class:`components.proxy_settings.ProxySettings` and the same route
list (``LIVENESS_ROUTES`` and ``VERSION_PATTERN``), so the peer cannot drift from what ships:

* the allowlist is matched on the raw request target as the client sent it (HAProxy's ``url``
  fetch, no normalisation), anchored, case-insensitive, plus HTTP/1.0 or 1.1 — the same language
  as ``route_regex()`` on nginx's ``$request``; refused routes get the proxy's own 404 body
  (``REFUSED_ROUTE_BODY``), other methods 405 with ``Allow``;
* Content-Length over ``max_body_bytes`` is refused with 413 before anything is forwarded; the
  body streams otherwise (no ``option http-buffer-request``, like ``proxy_request_buffering off``);
  a Transfer-Encoding request body is refused with 411 (HAProxy cannot cap a streamed chunked
  body before part of it has left; the benchmark only sends Content-Length bodies);
* one per-client request-rate limit (stick table on the client address, 429 over the rate); from
  a peer in ``trusted_proxy_cidrs`` the client is the right-most X-Forwarded-For entry;
* TLS to the fixed upstream address with SNI and certificate verification for the account
  hostname (``ssl verify required ca-file … sni str(…) verifyhost …``), connections pooled and
  reused for every request (``http-reuse always``, like an nginx ``upstream{}`` keep-alive pool);
* Host per ``upstream_host`` ("client": unchanged, "account": the account hostname), the same
  hop-by-hop headers dropped, the same timeouts, one JSON-ish access-log line per request.

Reference: HAProxy 2.6 configuration manual, https://docs.haproxy.org/2.6/configuration.html
(sections 2.2 quoting — single quotes keep a regex verbatim —, ``http-reuse``, server ``ssl``,
``verify``, ``verifyhost``, ``sni``, ``ca-file``, ``http-request return``, ``url``, ``req.ver``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.proxy_config import DROPPED_REQUEST_HEADERS
from components.proxy_routes import LIVENESS_ROUTES, REFUSED_ROUTE_BODY, VERSION_PATTERN, allowed_methods
from components.proxy_settings import ProxySettings, check_hostname, split_host_port

# Client-side keep-alive, as the shipped nginx (`keepalive_timeout 300s`).
CLIENT_KEEPALIVE_SECONDS = 300


@dataclass(frozen=True)
class PeerRun:
    """Where the peer listens and connects in this run (all on loopback)."""

    listen: str          # HOST:PORT the load generator connects to
    upstream: str        # HOST:PORT of the Face stand-in (the fixed upstream address)
    ca_file: str         # PEM CA that signed the stand-in's certificate
    threads: int         # nbthread: the same count as the shipped config's nginx workers
    log: str = "stdout"  # HAProxy log target ("stdout" goes to the process's stdout)


def url_regex() -> str:
    """The anchored pattern the raw request target must match: ``/face/{version}/{route}[?query]``.

    Built from the same route list and version pattern as the nginx allowlist; the nginx regex
    wraps the same middle in ``METHOD SP … SP HTTP/1.x`` on the request line, which here are the
    method ACL and the ``req.ver`` ACL.
    """
    tails = "|".join(re.escape(route.split("{version}/", 1)[1]).replace("\\/", "/")
                     for route in LIVENESS_ROUTES)
    return rf"^/face/{VERSION_PATTERN}/(?:{tails})(?:\?[^ ]*)?$"


def _strong_quote(text: str) -> str:
    """``text`` in HAProxy single quotes (nothing inside is interpreted)."""
    if "'" in text or "\n" in text:
        raise ValueError(f"cannot single-quote {text!r} for HAProxy")
    return f"'{text}'"


def _weak_quote(text: str) -> str:
    """``text`` in HAProxy double quotes, escaping what they interpret (\\ " $ and newline)."""
    if not all(32 <= ord(c) < 127 or c == "\n" for c in text):
        raise ValueError(f"cannot double-quote {text!r} for HAProxy")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", "\\n") + '"'


def render_haproxy_config(settings: ProxySettings, run: PeerRun) -> str:
    """The complete haproxy.cfg for ``settings`` on the addresses of ``run``."""
    s = settings
    check_hostname("face_host", s.face_host)
    split_host_port("listen", run.listen, allow_hostname=False)
    split_host_port("upstream", run.upstream, allow_hostname=False)
    if not 1 <= run.threads <= 64:
        raise ValueError(f"threads: received {run.threads!r}; expected 1 to 64")
    if s.upstream_host not in ("client", "account"):
        raise ValueError(f"upstream_host: received {s.upstream_host!r}; expected client or account")
    methods = allowed_methods(s)
    connect_timeout = min(10, s.upstream_timeout_seconds)
    burst_window = s.rate_limit_per_second + s.rate_limit_burst

    lines: list[str] = []
    add = lines.append
    add("# HAProxy 2.6 peer of the shipped liveness proxy (benchmarks/haproxy_peer.py). Not shipped.")
    add("global")
    add(f"    nbthread {run.threads}")
    add("    maxconn 8192")
    add("    ssl-server-verify required")
    add(f"    log {run.log} format raw local0 info")
    add("")
    add("defaults")
    add("    mode http")
    add("    log global")
    add("    option dontlognull")
    add("    option http-keep-alive")
    add(f"    timeout http-request {s.client_timeout_seconds}s")
    add(f"    timeout client {s.client_timeout_seconds}s")
    add(f"    timeout http-keep-alive {CLIENT_KEEPALIVE_SECONDS}s")
    add(f"    timeout connect {connect_timeout}s")
    add(f"    timeout server {s.upstream_timeout_seconds}s")
    add("    retries 0")
    add("")
    add("frontend liveness")
    add(f"    bind {run.listen}")
    fields = ('{"time":"%t","client_ip":"%ci","method":"%HM","target":"%HU","status":%ST,'
              '"bytes_sent":%B,"request_time_ms":%Ta,"upstream_connect_ms":%Tc,'
              '"upstream_response_ms":%Tr}')
    add(f"    log-format {_strong_quote(fields)}")
    add(f"    acl liveness_route url -m reg -i {_strong_quote(url_regex())}")
    add("    acl liveness_version req.ver 1.0 1.1")
    add(f"    acl liveness_method method {' '.join(methods)}")
    add("    acl has_transfer_encoding req.hdr(transfer-encoding) -m found")
    add(f"    acl body_too_large req.hdr_val(content-length) gt {s.max_body_bytes}")
    add(f"    http-request return status 404 content-type text/plain "
        f"string {_weak_quote(REFUSED_ROUTE_BODY)} if !liveness_route or !liveness_version")
    add(f"    http-request return status 405 hdr Allow {_weak_quote(', '.join(methods))} "
        "if !liveness_method")
    add("    http-request return status 411 if has_transfer_encoding")
    add("    http-request return status 413 if body_too_large")
    add("    stick-table type ip size 100k expire 60s store http_req_rate(1s)")
    if s.trusted_proxy_cidrs:
        # From the ingress, the client is the right-most X-Forwarded-For entry (the one it added).
        add(f"    acl from_ingress src {' '.join(str(c) for c in s.trusted_proxy_cidrs)}")
        add("    http-request track-sc0 req.hdr_ip(x-forwarded-for,-1) if from_ingress")
    add("    http-request track-sc0 src")
    add(f"    http-request deny deny_status 429 if {{ sc_http_req_rate(0) gt {burst_window} }}")
    for header in DROPPED_REQUEST_HEADERS:
        add(f"    http-request del-header {header}")
    if s.upstream_host == "account":
        add(f"    http-request set-header Host {s.face_host}")
    add("    default_backend face")
    add("")
    add("backend face")
    add("    http-reuse always")
    add(f"    server face {run.upstream} ssl verify required ca-file {run.ca_file} "
        f"sni str({s.face_host}) verifyhost {s.face_host} ssl-min-ver TLSv1.2 alpn http/1.1")
    return "\n".join(lines) + "\n"
