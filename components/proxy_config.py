"""Pure: the nginx configuration of the liveness reverse proxy, rendered from settings.

No Pulumi and no I/O here. `ProxySettings` (components/proxy_settings.py, re-exported here) is the
contract between the stack configuration (infra/config.py) and the renderer;
:func:`render_nginx_config` turns it into one complete,
top-level ``nginx.conf`` that a stock nginx image runs with
``nginx -c /etc/nginx-liveness/nginx.conf -g "daemon off;"``.

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

import re

# ProxySettings, LocalRun, ProxyConfigError and validation live in proxy_settings.py; they are
# re-exported here, where callers have always imported them from.
from components.proxy_settings import (  # noqa: F401
    CONTAINER_APPS_PLATFORM_CIDRS,
    DEFAULT_CA_BUNDLE,
    DEFAULT_HEALTH_PORT,
    DEFAULT_LISTEN_PORT,
    DEFAULT_UPSTREAM_IDLE_MS,
    INGRESS_TIMEOUT_SECONDS,
    LocalRun,
    MAX_TRUSTED_PREFIXLEN,
    MAX_UPSTREAM_IDLE_MS,
    ProxyConfigError,
    ProxySettings,
    UPSTREAM_HOST_MODES,
    _check_cidrs,
    _check_upstream_address,
    _validate_local,
    check_hostname,
    check_trusted_proxy_cidrs,
    CHUNKED_BUFFER_FACTOR,
    CHUNKED_BUFFER_SLACK,
    TERMINATION_GRACE_PERIOD_SECONDS,
    WORKER_SHUTDOWN_TIMEOUT_SECONDS,
    chunked_body_bytes,
    client_header_timeout,
    pool_size,
    proxy_limits,
    split_host_port,
    validate,
    worker_count,
)

# The four Face liveness routes the proxy forwards (Microsoft: "Use liveness detection with network
# isolation"). `{version}` is the API version segment, e.g. v1.2 or v1.2-preview.1.
LIVENESS_ROUTES: tuple[str, ...] = (
    "/face/{version}/session/start",
    "/face/{version}/session/attempt/end",
    "/face/{version}/detectLiveness/singleModal",
    "/face/{version}/detectLivenessWithVerify/singleModal",
)

HEALTH_PATH = "/healthz"
# The body of the proxy's own 404 for a route it does not forward. A fixed plain-text body (Face
# answers errors in JSON with an `error.code`), so `liveness-infra smoke` and an operator reading
# a response can tell "refused by the proxy" from "answered by Face".
REFUSED_ROUTE_BODY = "not found: this proxy forwards only the Face liveness routes\n"
# The API version segment: v1.2, v1.2-preview.1 (matched case-insensitively, like the routes).
VERSION_PATTERN = r"v[0-9]+\.[0-9]+(?:-preview\.[0-9]+)?"
# Where pid and temp files go in the container (the stock images all have a writable /tmp).
DEFAULT_RUNTIME_DIR = "/tmp"
UPSTREAM_TLS_PORT = 443
UPSTREAM_NAME = "liveness_face"
# Requests per pooled connection before nginx retires it (0.1 new connections per 1,000).
UPSTREAM_KEEPALIVE_REQUESTS = 10_000
# Tries per request: a connection or TLS handshake that fails before the request is written is
# retried once on a new connection; a POST that was written is never re-sent.
UPSTREAM_TRIES = 2
# The access log is buffered in each worker and written at most this many seconds after a request
# ends, when the buffer is full, and when the worker stops (graceful or fast): one write(2) per
# buffer instead of one per request, 6-12 % of the proxy's CPU per request (docs/proxy.md#benchmark).
ACCESS_LOG_FLUSH_SECONDS = 1
# The buffer: no larger than PIPE_BUF (4096 bytes on Linux), the most a write to the container's
# stdout pipe carries atomically, so lines of two workers sharing the pipe never interleave.
ACCESS_LOG_BUFFER_BYTES = 4096
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

# --------------------------------------------------------------------------------------------
# Rendering


def _nginx_quoted(text: str) -> str:
    """`text` for a double-quoted nginx string: only printable ASCII, newline as \\n."""
    if not all(32 <= ord(c) < 127 and c not in '"\\$' or c == "\n" for c in text):
        raise ProxyConfigError("text", text, "printable ASCII without quotes, backslashes or $")
    return text.replace("\n", "\\n")


def route_regex() -> str:
    """The anchored, case-insensitive pattern the raw request line must match to be forwarded.

    ``METHOD SP /face/{version}/{route}[?query] SP HTTP/1.x``: origin-form targets only; the path
    is exactly one of the four routes, nothing before or after it but an optional query string.
    """
    tails = "|".join(
        re.escape(r.split("{version}/", 1)[1]).replace("\\/", "/") for r in LIVENESS_ROUTES)
    return rf"^[A-Z]+ /face/{VERSION_PATTERN}/(?:{tails})(?:\?[^ ]*)? HTTP/1\.[01]$"


def allowed_methods(settings: ProxySettings) -> tuple[str, ...]:
    return ("POST", "OPTIONS") if settings.allow_options else ("POST",)


_LOG_FORMAT_FIELDS: tuple[tuple[str, str, bool], ...] = (
    # (json key, nginx variable, quoted). Never headers with credentials, cookies or bodies.
    ("time", "$time_iso8601", True),
    ("request_id", "$request_id", True),
    ("ingress_request_id", "$http_x_request_id", True),
    ("client_ip", "$remote_addr", True),
    ("peer_ip", "$realip_remote_addr", True),
    ("method", "$request_method", True),
    ("target", "$request_uri", True),
    ("protocol", "$server_protocol", True),
    ("status", "$status", False),
    ("request_length", "$request_length", False),
    ("bytes_sent", "$bytes_sent", False),
    ("body_bytes_sent", "$body_bytes_sent", False),
    ("request_time", "$request_time", False),
    ("upstream_addr", "$upstream_addr", True),
    ("upstream_status", "$upstream_status", True),
    ("upstream_connect_time", "$upstream_connect_time", True),
    ("upstream_response_time", "$upstream_response_time", True),
    ("rate_limit", "$limit_req_status", True),
)


def _log_format() -> str:
    parts = [f'"{key}":' + (f'"{var}"' if quoted else var) for key, var, quoted in _LOG_FORMAT_FIELDS]
    return "{" + ",".join(parts) + "}"


def render_nginx_config(settings: ProxySettings, local: LocalRun | None = None) -> str:
    """The complete nginx.conf for ``settings``.

    Without ``local`` this is exactly what ships. With ``local`` (``proxy serve``) only the lines
    :class:`LocalRun` names differ: listen addresses, the upstream server address, the upstream
    CA bundle and the pid/temp paths.
    """
    validate(settings)
    if local is not None:
        _validate_local(local)
    s = settings
    runtime = local.runtime_dir.rstrip("/") if local else DEFAULT_RUNTIME_DIR
    listen = local.listen if local else str(s.listen_port)
    health_listen = local.health_listen if local else str(s.health_port)
    upstream = local.face_address if local else \
        f"{_check_upstream_address('upstream_address', s.upstream_address)}:{UPSTREAM_TLS_PORT}"
    ca_bundle = local.ca_bundle if local else s.ca_bundle
    connect_timeout = min(10, s.upstream_timeout_seconds)
    methods = allowed_methods(s)
    limits = proxy_limits(s)
    pool = limits.pool
    connections = limits.worker_connections
    burst = f" burst={s.rate_limit_burst}" if s.rate_limit_burst else ""
    limit = f"limit_req zone=liveness_per_client{burst} nodelay;"
    forward = f"proxy_pass https://{UPSTREAM_NAME}$request_uri;"
    chunked_buffer = chunked_body_bytes(s)
    # In-flight requests per client and in total; chunked bodies (held in memory) separately.
    caps = [f"limit_conn liveness_inflight_per_client {limits.requests_per_client};",
            f"limit_conn liveness_inflight_replica {limits.requests_total};"]
    chunked_caps = [f"limit_conn liveness_chunked_per_client {limits.chunked_per_client};",
                    f"limit_conn liveness_chunked_replica {limits.chunked_total};"]

    lines: list[str] = []
    add = lines.append
    add("# nginx.conf of the Face liveness reverse proxy, rendered by components/proxy_config.py.")
    add(f"# Forwards only {' and '.join(methods)} on the four liveness routes to https://{s.face_host};")
    add("# everything else gets 404 from the proxy. See docs/proxy.md. Do not edit by hand.")
    add(f"worker_processes {worker_count(s)};")
    add(f"worker_rlimit_nofile {2 * connections};")
    add(f"pid {runtime}/nginx-liveness.pid;")
    add("error_log stderr warn;")
    add("# SIGQUIT (the container's command turns SIGTERM into it) drains: listeners close, requests")
    add("# in flight finish; whatever is still open after this is closed, inside the platform's")
    add(f"# {TERMINATION_GRACE_PERIOD_SECONDS} s grace period.")
    add(f"worker_shutdown_timeout {WORKER_SHUTDOWN_TIMEOUT_SECONDS}s;")
    add("")
    add(f"# Limits derived from memory {s.memory}, {worker_count(s)} worker(s) and a "
        f"{s.max_body_bytes}-byte body cap (docs/proxy.md, Limits).")
    add("events {")
    add(f"    worker_connections {connections};")
    add("}")
    add("")
    add("http {")
    add("    server_tokens off;")
    add("    default_type text/plain;")
    add("    charset off;")
    add("    gzip off;")
    add("    # Bodies never go to these directories (see the body settings below); nginx needs them set.")
    add(f"    client_body_temp_path {runtime}/nginx-liveness-client-body;")
    add(f"    proxy_temp_path {runtime}/nginx-liveness-proxy;")
    add(f"    fastcgi_temp_path {runtime}/nginx-liveness-fastcgi;")
    add(f"    uwsgi_temp_path {runtime}/nginx-liveness-uwsgi;")
    add(f"    scgi_temp_path {runtime}/nginx-liveness-scgi;")
    add("")
    add("    # JSON access log on stdout: no Authorization, cookies or bodies, ever. Buffered per worker")
    add(f"    # (at most {ACCESS_LOG_BUFFER_BYTES} bytes, one atomic pipe write; written within "
        f"{ACCESS_LOG_FLUSH_SECONDS}s and when a worker stops).")
    add(f"    log_format liveness_json escape=json '{_log_format()}';")
    add("")
    add("    # Clients (through the Container Apps ingress).")
    add(f"    client_header_timeout {client_header_timeout(s)}s;")
    add(f"    client_body_timeout {s.client_timeout_seconds}s;")
    add(f"    send_timeout {s.client_timeout_seconds}s;")
    add("    keepalive_timeout 300s;")
    add(f"    client_max_body_size {s.max_body_bytes};")
    add("    client_body_buffer_size 64k;")
    add("    client_body_in_file_only off;")
    add("    underscores_in_headers on;")
    add("    max_ranges 0;")
    add("    if_modified_since off;")
    add("")
    if s.trusted_proxy_cidrs:
        add("    # From a trusted peer (the ingress) the client IP is the right-most X-Forwarded-For")
        add("    # entry, the one the ingress appended; entries a client wrote are never used.")
        for cidr in _check_cidrs("trusted_proxy_cidrs", s.trusted_proxy_cidrs):
            add(f"    set_real_ip_from {cidr};")
        add("    real_ip_header X-Forwarded-For;")
        add("    real_ip_recursive off;")
    else:
        add("    # No trusted proxy ranges: the client IP is the TCP peer.")
    add(f"    limit_req_zone $binary_remote_addr zone=liveness_per_client:10m "
        f"rate={s.rate_limit_per_second}r/s;")
    add("    limit_req_status 429;")
    add("    limit_req_log_level warn;")
    add("    # Requests in flight and chunked bodies held in memory, per client IP and per replica.")
    add("    map $request_method $liveness_replica {")
    add("        default replica;")
    add("    }")
    add("    limit_conn_zone $binary_remote_addr zone=liveness_inflight_per_client:10m;")
    add("    limit_conn_zone $liveness_replica zone=liveness_inflight_replica:1m;")
    add("    limit_conn_zone $binary_remote_addr zone=liveness_chunked_per_client:10m;")
    add("    limit_conn_zone $liveness_replica zone=liveness_chunked_replica:1m;")
    add("    limit_conn_status 429;")
    add("    limit_conn_log_level warn;")
    add("")
    add("    # Face: the private endpoint's fixed address, no DNS. Pooled connections are closed by")
    add("    # the proxy when idle, before Face's front end would close them.")
    add(f"    upstream {UPSTREAM_NAME} {{")
    add("        # The same address again as a backup: a second try (proxy_next_upstream) needs a second")
    add("        # peer entry, and as a backup it serves only retries, so every new connection still")
    add("        # resumes the one TLS session the primary entry keeps.")
    add(f"        server {upstream} max_fails=0;")
    add(f"        server {upstream} max_fails=0 backup;")
    add(f"        keepalive {pool};")
    add(f"        keepalive_requests {UPSTREAM_KEEPALIVE_REQUESTS};")
    idle = f"{s.upstream_idle_ms // 1000}s" if s.upstream_idle_ms % 1000 == 0 else f"{s.upstream_idle_ms}ms"
    add(f"        keepalive_timeout {idle};")
    add("        keepalive_time 1h;")
    add("    }")
    add("")
    add("    # The allowlist, checked on the raw request line (see route_regex()).")
    add("    map $request $liveness_route {")
    add("        default 0;")
    add(f'        "~*{route_regex()}" 1;')
    add("    }")
    add("    map $request_method $liveness_method {")
    add("        default 0;")
    for method in methods:
        add(f"        {method} 1;")
    add("    }")
    add("    # nginx itself answers 400/501 to any Transfer-Encoding but a lone `chunked`, and to")
    add("    # Transfer-Encoding with Content-Length; what is left here is a chunked body.")
    add("    map $http_transfer_encoding $liveness_chunked {")
    add("        default 1;")
    add('        "" 0;')
    add("    }")
    if s.upstream_host == "client":
        add("    # Host sent to Face: the one the client sent, unchanged.")
        add("    map $http_host $liveness_upstream_host {")
        add("        default $http_host;")
        add(f'        "" {s.face_host};')
        add("    }")
    add("")
    add("    server {")
    add(f"        listen {listen} default_server;")
    add("        server_name _;")
    add(f"        access_log /dev/stdout liveness_json buffer={ACCESS_LOG_BUFFER_BYTES} "
        f"flush={ACCESS_LOG_FLUSH_SECONDS}s;")
    add("")
    add("        proxy_http_version 1.1;")
    host_value = "$liveness_upstream_host" if s.upstream_host == "client" else s.face_host
    add(f"        proxy_set_header Host {host_value};")
    add('        proxy_set_header Connection "";')
    for header in DROPPED_REQUEST_HEADERS:
        add(f'        proxy_set_header {header} "";')
    add("        proxy_pass_request_headers on;")
    add("        proxy_pass_request_body on;")
    add("        proxy_buffering on;")
    add("        proxy_buffer_size 16k;")
    add("        proxy_buffers 8 16k;")
    add("        proxy_max_temp_file_size 0;")
    add("        # One retry on a fresh connection, only where no byte of the request was written:")
    add("        # nginx never re-sends a POST once it has started sending it (nor a streamed body).")
    add("        proxy_next_upstream error timeout;")
    add(f"        proxy_next_upstream_tries {UPSTREAM_TRIES};")
    add(f"        proxy_next_upstream_timeout {2 * connect_timeout}s;")
    add("        proxy_intercept_errors off;")
    add("        proxy_redirect off;")
    for header in PASSED_RESPONSE_HEADERS:
        add(f"        proxy_pass_header {header};")
    add(f"        proxy_ignore_headers {' '.join(IGNORED_RESPONSE_HEADERS)};")
    add(f"        proxy_connect_timeout {connect_timeout}s;")
    add(f"        proxy_send_timeout {s.upstream_timeout_seconds}s;")
    add(f"        proxy_read_timeout {s.upstream_timeout_seconds}s;")
    add("        proxy_ssl_server_name on;")
    add(f"        proxy_ssl_name {s.face_host};")
    add("        proxy_ssl_verify on;")
    add("        proxy_ssl_verify_depth 4;")
    add(f"        proxy_ssl_trusted_certificate {ca_bundle};")
    add("        proxy_ssl_protocols TLSv1.2 TLSv1.3;")
    add("        proxy_ssl_session_reuse on;")
    add("")
    add("        location / {")
    add("            if ($liveness_route = 0) {")
    add(f'                return 404 "{_nginx_quoted(REFUSED_ROUTE_BODY)}";')
    add("            }")
    add("            if ($liveness_method = 0) {")
    add(f'                add_header Allow "{", ".join(methods)}" always;')
    add("                return 405;")
    add("            }")
    add("            error_page 418 = @liveness_chunked;")
    add("            if ($liveness_chunked) {")
    add("                return 418;")
    add("            }")
    add(f"            {limit}")
    for cap in caps:
        add(f"            {cap}")
    add("            # Content-Length bodies stream to Face; the cap is judged on the header first.")
    add("            proxy_request_buffering off;")
    add(f"            {forward}")
    add("        }")
    add("")
    add("        # Chunked bodies: read whole into memory (one buffer, never a temp file) so the cap")
    add("        # is enforced before Face sees a byte; forwarded with Content-Length.")
    add("        location @liveness_chunked {")
    add(f"            {limit}")
    for cap in caps + chunked_caps:
        add(f"            {cap}")
    add(f"            client_body_buffer_size {chunked_buffer};")
    add("            proxy_request_buffering on;")
    add(f"            {forward}")
    add("        }")
    add("    }")
    add("")
    add("    # Health probes only; the ingress does not expose this port.")
    add("    server {")
    add(f"        listen {health_listen};")
    add("        server_name _;")
    add("        access_log off;")
    add(f"        location = {HEALTH_PATH} {{")
    add('            return 200 "ok\\n";')
    add("        }")
    add("        location / {")
    add("            return 404;")
    add("        }")
    add("    }")
    add("}")
    return "\n".join(lines) + "\n"
