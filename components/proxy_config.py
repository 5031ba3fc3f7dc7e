"""Pure: the nginx configuration of the liveness reverse proxy, rendered from settings.

No Pulumi and no I/O here. `ProxySettings` (components/proxy_settings.py) is the contract between
the stack configuration and the renderer; :func:`render_nginx_config` turns it into one complete,
top-level ``nginx.conf`` that a stock nginx image runs with
``nginx -c /etc/nginx-liveness/nginx.conf -g "daemon off;"``, one small function per block of the
file.

Design of the rendered configuration (docs/proxy.md explains it for operators):

* The allowlist is one anchored regular expression matched against ``$request``, the raw request
  line exactly as the client sent it, so nothing nginx normalises (percent-decoding, dot-segments,
  merged slashes, ``;params``) can turn a refused target into an allowed one. The same raw target
  (``$request_uri``) is what is forwarded.
* Face is one ``upstream {}`` server: the private endpoint's fixed IP address on port 443, with
  TLS SNI and certificate verification for the account hostname, a keep-alive pool and TLS
  session reuse. No ``resolver``: nothing in the data path asks DNS.
* Content-Length request bodies stream (no buffering); chunked bodies are read whole into memory
  (never a temp file) so the cap is enforced before Face sees a byte; a request is retried once
  only if connecting to Face failed before any byte of it was written.
* The client IP (rate-limit key, access log) is the right-most X-Forwarded-For entry, taken only
  from peers in the trusted ranges (the ingress), never recursively.
"""

from __future__ import annotations

from dataclasses import dataclass

from components import access_log
from components.proxy_routes import HEALTH_PATH, REFUSED_ROUTE_BODY, allowed_methods, route_regex
from components.proxy_settings import (
    TERMINATION_GRACE_PERIOD_SECONDS,
    WORKER_SHUTDOWN_TIMEOUT_SECONDS,
    LocalRun,
    ProxyConfigError,
    ProxyLimits,
    ProxySettings,
    check_trusted_proxy_cidrs,
    check_upstream_address,
    chunked_body_bytes,
    client_header_timeout,
    proxy_limits,
    validate,
    validate_local,
    worker_count,
)

# Where pid and temp files go in the container (the stock images all have a writable /tmp).
DEFAULT_RUNTIME_DIR = "/tmp"
UPSTREAM_TLS_PORT = 443
UPSTREAM_NAME = "liveness_face"
# Requests per pooled connection before nginx retires it (0.1 new connections per 1,000).
UPSTREAM_KEEPALIVE_REQUESTS = 10_000
# Tries per request: a connection or TLS handshake that fails before the request is written is
# retried once on a new connection; a POST that was written is never re-sent.
UPSTREAM_TRIES = 2
# Hop-by-hop request headers the proxy does not forward (RFC 9110 §7.6.1 plus legacy ones).
# nginx itself already replaces Connection, Keep-Alive, TE, Upgrade, Expect and Transfer-Encoding.
DROPPED_REQUEST_HEADERS: tuple[str, ...] = ("Proxy-Connection", "Proxy-Authorization")
# Response headers nginx hides by default; the proxy passes them on so responses arrive unchanged.
PASSED_RESPONSE_HEADERS: tuple[str, ...] = (
    "Server", "Date", "X-Pad", "X-Accel-Redirect", "X-Accel-Expires", "X-Accel-Limit-Rate",
    "X-Accel-Buffering", "X-Accel-Charset",
)
# Upstream response headers nginx would otherwise act on (internal redirects, rate changes, ...).
IGNORED_RESPONSE_HEADERS: tuple[str, ...] = (
    "X-Accel-Redirect", "X-Accel-Expires", "X-Accel-Limit-Rate", "X-Accel-Buffering",
    "X-Accel-Charset", "Expires", "Cache-Control", "Set-Cookie", "Vary",
)

def _nginx_quoted(text: str) -> str:
    """`text` for a double-quoted nginx string: only printable ASCII, newline as \\n."""
    if not all(32 <= ord(c) < 127 and c not in '"\\$' or c == "\n" for c in text):
        raise ProxyConfigError("text", text, "printable ASCII without quotes, backslashes or $")
    return text.replace("\n", "\\n")


@dataclass(frozen=True)
class _Render:
    """What every block of the rendered file is written from: the settings, the values a local run
    replaces, and what is derived from the settings once."""

    settings: ProxySettings
    runtime: str  # where pid and temp files go
    listen: str
    health_listen: str
    upstream: str  # the upstream server entry, ADDRESS:PORT
    ca_bundle: str
    connect_timeout: int
    methods: tuple[str, ...]
    limits: ProxyLimits


def _render_inputs(settings: ProxySettings, local: LocalRun | None) -> _Render:
    """Validate and derive; `local` replaces listen addresses, upstream, CA bundle and runtime dir."""
    validate(settings)
    if local is not None:
        validate_local(local)
    s = settings
    upstream = local.face_address if local else \
        f"{check_upstream_address('upstream_address', s.upstream_address)}:{UPSTREAM_TLS_PORT}"
    return _Render(
        settings=s,
        runtime=local.runtime_dir.rstrip("/") if local else DEFAULT_RUNTIME_DIR,
        listen=local.listen if local else str(s.listen_port),
        health_listen=local.health_listen if local else str(s.health_port),
        upstream=upstream,
        ca_bundle=local.ca_bundle if local else s.ca_bundle,
        connect_timeout=min(10, s.upstream_timeout_seconds),
        methods=allowed_methods(s),
        limits=proxy_limits(s),
    )


def _main_context(r: _Render) -> list[str]:
    """The file's header, the process-wide directives and `events {}`."""
    s, connections = r.settings, r.limits.worker_connections
    return [
        "# nginx.conf of the Face liveness reverse proxy, rendered by components/proxy_config.py.",
        f"# Forwards only {' and '.join(r.methods)} on the four liveness routes to https://{s.face_host};",
        "# everything else gets 404 from the proxy. See docs/proxy.md. Do not edit by hand.",
        f"worker_processes {worker_count(s)};",
        f"worker_rlimit_nofile {2 * connections};",
        f"pid {r.runtime}/nginx-liveness.pid;",
        "error_log stderr warn;",
        "# SIGQUIT (the container's command turns SIGTERM into it) drains: listeners close, requests",
        "# in flight finish; whatever is still open after this is closed, inside the platform's",
        f"# {TERMINATION_GRACE_PERIOD_SECONDS} s grace period.",
        f"worker_shutdown_timeout {WORKER_SHUTDOWN_TIMEOUT_SECONDS}s;",
        "",
        f"# Limits derived from memory {s.memory}, {worker_count(s)} worker(s) and a "
        f"{s.max_body_bytes}-byte body cap (docs/proxy.md, Limits).",
        "events {",
        f"    worker_connections {connections};",
        "}",
        "",
    ]


def _http_basics(r: _Render) -> list[str]:
    """Server-wide defaults, temp paths, the access log format and the client-side limits."""
    s = r.settings
    return [
        "    server_tokens off;",
        "    default_type text/plain;",
        "    charset off;",
        "    gzip off;",
        "    # Bodies never go to these directories (see the body settings below); nginx needs them set.",
        f"    client_body_temp_path {r.runtime}/nginx-liveness-client-body;",
        f"    proxy_temp_path {r.runtime}/nginx-liveness-proxy;",
        f"    fastcgi_temp_path {r.runtime}/nginx-liveness-fastcgi;",
        f"    uwsgi_temp_path {r.runtime}/nginx-liveness-uwsgi;",
        f"    scgi_temp_path {r.runtime}/nginx-liveness-scgi;",
        "",
        "    # JSON access log on stdout: no Authorization, cookies or bodies, ever. Buffered per worker",
        f"    # (at most {access_log.ACCESS_LOG_BUFFER_BYTES} bytes, one atomic pipe write; written within "
        f"{access_log.ACCESS_LOG_FLUSH_SECONDS}s and when a worker stops).",
        f"    log_format liveness_json escape=json '{access_log.log_format()}';",
        "",
        "    # Clients (through the Container Apps ingress).",
        f"    client_header_timeout {client_header_timeout(s)}s;",
        f"    client_body_timeout {s.client_timeout_seconds}s;",
        f"    send_timeout {s.client_timeout_seconds}s;",
        "    keepalive_timeout 300s;",
        f"    client_max_body_size {s.max_body_bytes};",
        "    client_body_buffer_size 64k;",
        "    client_body_in_file_only off;",
        "    underscores_in_headers on;",
        "    max_ranges 0;",
        "    if_modified_since off;",
        "",
    ]


def _client_ip_and_limits(r: _Render) -> list[str]:
    """Whose address is the client's (trusted ranges), and the rate and in-flight limit zones."""
    s = r.settings
    if s.trusted_proxy_cidrs:
        client_ip = [
            "    # From a trusted peer (the ingress) the client IP is the right-most X-Forwarded-For",
            "    # entry, the one the ingress appended; entries a client wrote are never used.",
            *(f"    set_real_ip_from {cidr};"
              for cidr in check_trusted_proxy_cidrs("trusted_proxy_cidrs", s.trusted_proxy_cidrs)),
            "    real_ip_header X-Forwarded-For;",
            "    real_ip_recursive off;",
        ]
    else:
        client_ip = ["    # No trusted proxy ranges: the client IP is the TCP peer."]
    return [
        *client_ip,
        f"    limit_req_zone $binary_remote_addr zone=liveness_per_client:10m "
        f"rate={s.rate_limit_per_second}r/s;",
        "    limit_req_status 429;",
        "    limit_req_log_level warn;",
        "    # Requests in flight and chunked bodies held in memory, per client IP and per replica.",
        "    map $request_method $liveness_replica {",
        "        default replica;",
        "    }",
        "    limit_conn_zone $binary_remote_addr zone=liveness_inflight_per_client:10m;",
        "    limit_conn_zone $liveness_replica zone=liveness_inflight_replica:1m;",
        "    limit_conn_zone $binary_remote_addr zone=liveness_chunked_per_client:10m;",
        "    limit_conn_zone $liveness_replica zone=liveness_chunked_replica:1m;",
        "    limit_conn_status 429;",
        "    limit_conn_log_level warn;",
        "",
    ]


def _upstream(r: _Render) -> list[str]:
    """Face as one `upstream {}`: the private endpoint's address twice (primary and retry)."""
    idle_ms = r.settings.upstream_idle_ms
    idle = f"{idle_ms // 1000}s" if idle_ms % 1000 == 0 else f"{idle_ms}ms"
    return [
        "    # Face: the private endpoint's fixed address, no DNS. Pooled connections are closed by",
        "    # the proxy when idle, before Face's front end would close them.",
        f"    upstream {UPSTREAM_NAME} {{",
        "        # The same address again as a backup: a second try (proxy_next_upstream) needs a second",
        "        # peer entry, and as a backup it serves only retries, so every new connection still",
        "        # resumes the one TLS session the primary entry keeps.",
        f"        server {r.upstream} max_fails=0;",
        f"        server {r.upstream} max_fails=0 backup;",
        f"        keepalive {r.limits.pool};",
        f"        keepalive_requests {UPSTREAM_KEEPALIVE_REQUESTS};",
        f"        keepalive_timeout {idle};",
        "        keepalive_time 1h;",
        "    }",
        "",
    ]


def _request_maps(r: _Render) -> list[str]:
    """The allowlist (route and method), the chunked-body flag and the Host sent to Face."""
    lines = [
        "    # The allowlist, checked on the raw request line (see route_regex()).",
        "    map $request $liveness_route {",
        "        default 0;",
        f'        "~*{route_regex()}" 1;',
        "    }",
        "    map $request_method $liveness_method {",
        "        default 0;",
        *(f"        {method} 1;" for method in r.methods),
        "    }",
        "    # nginx itself answers 400/501 to any Transfer-Encoding but a lone `chunked`, and to",
        "    # Transfer-Encoding with Content-Length; what is left here is a chunked body.",
        "    map $http_transfer_encoding $liveness_chunked {",
        "        default 1;",
        '        "" 0;',
        "    }",
    ]
    if r.settings.upstream_host == "client":
        lines += [
            "    # Host sent to Face: the one the client sent, unchanged.",
            "    map $http_host $liveness_upstream_host {",
            "        default $http_host;",
            f'        "" {r.settings.face_host};',
            "    }",
        ]
    return lines + [""]


def _proxy_directives(r: _Render) -> list[str]:
    """How the public server talks to Face: headers, buffers, the one retry, timeouts and TLS."""
    s = r.settings
    host_value = "$liveness_upstream_host" if s.upstream_host == "client" else s.face_host
    return [
        "        proxy_http_version 1.1;",
        f"        proxy_set_header Host {host_value};",
        '        proxy_set_header Connection "";',
        *(f'        proxy_set_header {header} "";' for header in DROPPED_REQUEST_HEADERS),
        "        proxy_pass_request_headers on;",
        "        proxy_pass_request_body on;",
        "        proxy_buffering on;",
        "        proxy_buffer_size 16k;",
        "        proxy_buffers 8 16k;",
        "        proxy_max_temp_file_size 0;",
        "        # One retry on a fresh connection, only where no byte of the request was written:",
        "        # nginx never re-sends a POST once it has started sending it (nor a streamed body).",
        "        proxy_next_upstream error timeout;",
        f"        proxy_next_upstream_tries {UPSTREAM_TRIES};",
        f"        proxy_next_upstream_timeout {2 * r.connect_timeout}s;",
        "        proxy_intercept_errors off;",
        "        proxy_redirect off;",
        *(f"        proxy_pass_header {header};" for header in PASSED_RESPONSE_HEADERS),
        f"        proxy_ignore_headers {' '.join(IGNORED_RESPONSE_HEADERS)};",
        f"        proxy_connect_timeout {r.connect_timeout}s;",
        f"        proxy_send_timeout {s.upstream_timeout_seconds}s;",
        f"        proxy_read_timeout {s.upstream_timeout_seconds}s;",
        "        proxy_ssl_server_name on;",
        f"        proxy_ssl_name {s.face_host};",
        "        proxy_ssl_verify on;",
        "        proxy_ssl_verify_depth 4;",
        f"        proxy_ssl_trusted_certificate {r.ca_bundle};",
        "        proxy_ssl_protocols TLSv1.2 TLSv1.3;",
        "        proxy_ssl_session_reuse on;",
        "",
    ]


def _proxy_locations(r: _Render) -> list[str]:
    """Refusals (404 route, 405 method), then streamed and chunked bodies forwarded under the caps:
    requests in flight per client and per replica, and chunked bodies (held in memory) likewise."""
    limits, burst = r.limits, r.settings.rate_limit_burst
    limit = f"limit_req zone=liveness_per_client{f' burst={burst}' if burst else ''} nodelay;"
    forward = f"proxy_pass https://{UPSTREAM_NAME}$request_uri;"
    caps = [f"limit_conn liveness_inflight_per_client {limits.requests_per_client};",
            f"limit_conn liveness_inflight_replica {limits.requests_total};"]
    chunked_caps = [f"limit_conn liveness_chunked_per_client {limits.chunked_per_client};",
                    f"limit_conn liveness_chunked_replica {limits.chunked_total};"]
    return [
        "        location / {",
        "            if ($liveness_route = 0) {",
        f'                return 404 "{_nginx_quoted(REFUSED_ROUTE_BODY)}";',
        "            }",
        "            if ($liveness_method = 0) {",
        f'                add_header Allow "{", ".join(r.methods)}" always;',
        "                return 405;",
        "            }",
        "            error_page 418 = @liveness_chunked;",
        "            if ($liveness_chunked) {",
        "                return 418;",
        "            }",
        f"            {limit}",
        *(f"            {cap}" for cap in caps),
        "            # Content-Length bodies stream to Face; the cap is judged on the header first.",
        "            proxy_request_buffering off;",
        f"            {forward}",
        "        }",
        "",
        "        # Chunked bodies: read whole into memory (one buffer, never a temp file) so the cap",
        "        # is enforced before Face sees a byte; forwarded with Content-Length.",
        "        location @liveness_chunked {",
        f"            {limit}",
        *(f"            {cap}" for cap in caps + chunked_caps),
        f"            client_body_buffer_size {chunked_body_bytes(r.settings)};",
        "            proxy_request_buffering on;",
        f"            {forward}",
        "        }",
    ]


def _proxy_server(r: _Render) -> list[str]:
    """The public server: the only one the ingress reaches."""
    return [
        "    server {",
        f"        listen {r.listen} default_server;",
        "        server_name _;",
        f"        access_log /dev/stdout liveness_json buffer={access_log.ACCESS_LOG_BUFFER_BYTES} "
        f"flush={access_log.ACCESS_LOG_FLUSH_SECONDS}s;",
        "",
        *_proxy_directives(r),
        *_proxy_locations(r),
        "    }",
        "",
    ]


def _health_server(r: _Render) -> list[str]:
    return [
        "    # Health probes only; the ingress does not expose this port.",
        "    server {",
        f"        listen {r.health_listen};",
        "        server_name _;",
        "        access_log off;",
        f"        location = {HEALTH_PATH} {{",
        '            return 200 "ok\\n";',
        "        }",
        "        location / {",
        "            return 404;",
        "        }",
        "    }",
    ]


def render_nginx_config(settings: ProxySettings, local: LocalRun | None = None) -> str:
    """The complete nginx.conf for ``settings``.

    Without ``local`` this is exactly what ships. With ``local`` (``proxy serve``) only the lines
    :class:`LocalRun` names differ: listen addresses, the upstream server address, the upstream
    CA bundle and the pid/temp paths.
    """
    r = _render_inputs(settings, local)
    lines = [
        *_main_context(r),
        "http {",
        *_http_basics(r),
        *_client_ip_and_limits(r),
        *_upstream(r),
        *_request_maps(r),
        *_proxy_server(r),
        *_health_server(r),
        "}",
    ]
    return "\n".join(lines) + "\n"
