"""Pure tests of the nginx configuration renderer (components/proxy_config.py).

The behaviour of the rendered file on a real nginx is proven in tests/proxy/; these tests pin the
renderer's own logic: the allowlist pattern, validation, and which lines a local run may change.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from components.proxy_config import render_nginx_config
from components.proxy_routes import LIVENESS_ROUTES, route_regex
from components.proxy_settings import (
    DEFAULT_CA_BUNDLE,
    LocalRun,
    ProxyConfigError,
    ProxySettings,
    TERMINATION_GRACE_PERIOD_SECONDS,
    WORKER_SHUTDOWN_TIMEOUT_SECONDS,
    proxy_limits,
    worker_count,
)

FACE = "fl-unit-face.cognitiveservices.azure.com"
BASE = ProxySettings(face_host=FACE, trusted_proxy_cidrs=("10.0.0.0/23",),
                     upstream_address="10.40.2.4")
LOCAL = LocalRun(listen="127.0.0.1:18080", health_listen="127.0.0.1:18081",
                 face_address="127.0.0.1:18443", ca_bundle="/tmp/x/upstream-ca.pem",
                 runtime_dir="/tmp/x")


def directives(text: str) -> list[str]:
    """Non-comment, non-blank lines, stripped."""
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def allowed(request_line: str) -> bool:
    return re.match(route_regex(), request_line, re.IGNORECASE) is not None


# -- the allowlist ------------------------------------------------------------------------------

ROUTE_TAILS = [r.split("{version}", 1)[1] for r in LIVENESS_ROUTES]


@pytest.mark.parametrize("version", ["v1.2", "v1.1-preview.1", "v1.2-preview.12", "v10.0"])
@pytest.mark.parametrize("tail", ROUTE_TAILS)
def test_every_route_and_version_shape_is_allowed(version: str, tail: str) -> None:
    target = f"/face/{version}{tail}"
    assert allowed(f"POST {target} HTTP/1.1")
    assert allowed(f"POST {target.lower()} HTTP/1.1"), "clients send lower case"
    assert allowed(f"POST {target}?a=b&c=%20 HTTP/1.0")


@pytest.mark.parametrize("request_line", [
    "POST /face/v1.2/detectLiveness-sessions HTTP/1.1",          # session creation: app server only
    "POST /face/v1.2/detect HTTP/1.1",
    "POST /face/v1.2/session/start/ HTTP/1.1",                  # trailing slash
    "POST /face/v1.2/session/start;x=1 HTTP/1.1",               # ;params
    "POST /face/v1.2/session%2Fstart HTTP/1.1",                 # encoded slash
    "POST /face/v1.2/%73ession/start HTTP/1.1",                 # encoded letter
    "POST /face/v1.2//session/start HTTP/1.1",                  # doubled slash
    "POST //face/v1.2/session/start HTTP/1.1",
    "POST /face/v1.2/./session/start HTTP/1.1",                 # dot-segment
    "POST /x/../face/v1.2/session/start HTTP/1.1",              # normalises to an allowed path
    "POST /face/v1.2/session/start/../../detect HTTP/1.1",
    "POST /face/v1.2/session/start#x HTTP/1.1",
    "POST http://evil/face/v1.2/session/start HTTP/1.1",       # absolute-form
    "POST /face/v1/session/start HTTP/1.1",                     # version shapes
    "POST /face/1.2/session/start HTTP/1.1",
    "POST /face/v1.2-beta.1/session/start HTTP/1.1",
    "POST /face/v1.2-preview/session/start HTTP/1.1",
    "POST /face/v1.2/session/start HTTP/2.0",
    "POST /face/v1.2/session/start",                             # HTTP/0.9 shape
    "POST /face/v1.2/session/start  HTTP/1.1",
    "POST /face/v1.2/session/start HTTP/1.1 x",
    "POST /face/v1.2/session/startx HTTP/1.1",
    "POST /face/v1.2/session/attempt HTTP/1.1",
    "POST /face/v1.2/detectLiveness/singleModal/x HTTP/1.1",
    "POST /Face/v1.2/session/start\n HTTP/1.1",
])
def test_anything_else_is_refused(request_line: str) -> None:
    assert not allowed(request_line)


# -- rendering --------------------------------------------------------------------------------


def test_upstream_is_the_fixed_address_verified_for_the_account_hostname() -> None:
    lines = directives(render_nginx_config(BASE))
    assert "server 10.40.2.4:443 max_fails=0;" in lines
    assert f"proxy_ssl_name {FACE};" in lines
    assert "proxy_ssl_server_name on;" in lines
    assert "proxy_ssl_verify on;" in lines
    assert "proxy_ssl_session_reuse on;" in lines
    assert f"proxy_ssl_trusted_certificate {DEFAULT_CA_BUNDLE};" in lines
    assert lines.count("proxy_pass https://liveness_face$request_uri;") == 2
    assert 'proxy_set_header Connection "";' in lines, "keep-alive to Face needs Connection cleared"


def test_no_dns_in_the_data_path() -> None:
    text = render_nginx_config(BASE)
    assert "resolver" not in text
    # The only host nginx could look up is a proxy_pass/server target: both are literal here.
    assert not re.search(r"^\s*server [a-z]", text, re.MULTILINE)


def test_retries_only_failed_connects_streams_bodies_and_hides_the_version() -> None:
    lines = directives(render_nginx_config(BASE))
    # No non_idempotent: a POST nginx started to send is never re-sent.
    assert not any("non_idempotent" in line or line.startswith("proxy_next_upstream http_") for line in lines)
    for expected in ("proxy_next_upstream error timeout;", "proxy_next_upstream_tries 2;",
                     "proxy_request_buffering off;",
                     "server_tokens off;", "proxy_http_version 1.1;",
                     f"client_max_body_size {BASE.max_body_bytes};", "limit_req_status 429;",
                     "proxy_max_temp_file_size 0;", "client_body_in_file_only off;"):
        assert expected in lines


def test_chunked_bodies_are_buffered_whole_in_memory() -> None:
    text = render_nginx_config(replace(BASE, max_body_bytes=4096))
    named = text.split("location @liveness_chunked {", 1)[1].split("}", 1)[0]
    assert "proxy_request_buffering on;" in named
    assert f"client_body_buffer_size {6 * 4096 + 64 * 1024};" in named
    assert "limit_req zone=liveness_per_client burst=20 nodelay;" in named
    assert "error_page 418 = @liveness_chunked;" in text


@pytest.mark.parametrize("mode,host", [("client", "$liveness_upstream_host"), ("account", FACE)])
def test_host_per_mode(mode: str, host: str) -> None:
    text = render_nginx_config(replace(BASE, upstream_host=mode))
    assert f"proxy_set_header Host {host};" in directives(text)
    assert ("map $http_host $liveness_upstream_host" in text) == (mode == "client")


@pytest.mark.parametrize("cpu,workers", [(0.25, 1), (0.5, 1), (1.0, 1), (1.5, 2), (2.0, 2), (4.0, 4)])
def test_workers_follow_the_replicas_vcpus(cpu: float, workers: int) -> None:
    lines = directives(render_nginx_config(replace(BASE, cpu=cpu)))
    assert f"worker_processes {workers};" in lines
    assert "worker_processes auto;" not in lines


@pytest.mark.parametrize("concurrency", [1, 50, 200])
def test_pool_is_what_a_worker_carries_not_the_scale_rule(concurrency: int) -> None:
    """The pool holds every request a worker can have in flight at once, whatever the scale
    rule's target: a burst several times the target reuses connections."""
    s = replace(BASE, concurrent_requests=concurrency)
    limits = proxy_limits(s)
    lines = directives(render_nginx_config(s))
    assert f"keepalive {limits.pool};" in lines
    assert limits.pool * worker_count(s) >= limits.requests_total >= concurrency
    connections = int(next(l for l in lines if l.startswith("worker_connections ")).split()[1][:-1])
    assert connections >= limits.pool + limits.requests_total // worker_count(s), \
        "room for client and upstream connections besides the pool"


@pytest.mark.parametrize("memory,cpu", [("0.5Gi", 0.25), ("1Gi", 0.5), ("2Gi", 1.0), ("4Gi", 2.0)])
@pytest.mark.parametrize("body", [1024, 8 * 1024 * 1024, 16 * 1024 * 1024])
def test_worst_case_memory_stays_within_half_the_replica(memory: str, cpu: float, body: int) -> None:
    """Every unit the limits admit, at its worst case, fits in half the replica's memory."""
    from components.proxy_settings import (CONNECTION_BYTES, REQUEST_BYTES, WORKER_BASE_BYTES,
                                           chunked_body_bytes, memory_bytes)

    s = replace(BASE, memory=memory, cpu=cpu, max_body_bytes=body, concurrent_requests=10)
    limits = proxy_limits(s)
    workers = worker_count(s)
    client_slots = limits.worker_connections * workers - limits.pool * workers
    worst = (workers * WORKER_BASE_BYTES + limits.chunked_total * chunked_body_bytes(s)
             + limits.requests_total * REQUEST_BYTES + client_slots * CONNECTION_BYTES)
    assert worst <= memory_bytes("memory", memory) // 2
    text = render_nginx_config(s)
    assert f"limit_conn liveness_chunked_replica {limits.chunked_total};" in text
    assert f"limit_conn liveness_inflight_replica {limits.requests_total};" in text
    assert limits.chunked_per_client <= limits.chunked_total


@pytest.mark.parametrize("memory,cpu,body,field", [
    ("0.5Gi", 0.25, 64 * 1024 * 1024, "max_body_bytes"),
    ("1Gi", 0.5, 48 * 1024 * 1024, "max_body_bytes"),
])
def test_a_body_cap_the_replica_cannot_buffer_is_refused(memory, cpu, body, field) -> None:
    with pytest.raises(ProxyConfigError) as refused:
        render_nginx_config(replace(BASE, memory=memory, cpu=cpu, max_body_bytes=body))
    assert refused.value.name == field
    assert memory in refused.value.expected


def test_a_concurrency_the_replica_cannot_carry_is_refused() -> None:
    with pytest.raises(ProxyConfigError) as refused:
        render_nginx_config(replace(BASE, memory="0.5Gi", cpu=0.25, concurrent_requests=5000))
    assert refused.value.name == "concurrent_requests"


def test_drain_is_bounded_below_the_grace_period() -> None:
    lines = directives(render_nginx_config(BASE))
    assert f"worker_shutdown_timeout {WORKER_SHUTDOWN_TIMEOUT_SECONDS}s;" in lines
    assert WORKER_SHUTDOWN_TIMEOUT_SECONDS + 10 <= TERMINATION_GRACE_PERIOD_SECONDS


def test_pool_idle_timeout_stays_below_the_front_ends() -> None:
    lines = directives(render_nginx_config(BASE))
    assert "keepalive_timeout 30s;" in lines
    assert "keepalive_timeout 250ms;" in directives(render_nginx_config(replace(BASE, upstream_idle_ms=250)))


def test_options_only_when_enabled() -> None:
    off = directives(render_nginx_config(BASE))
    on = directives(render_nginx_config(replace(BASE, allow_options=True)))
    assert "OPTIONS 1;" not in off and 'add_header Allow "POST" always;' in off
    assert "OPTIONS 1;" in on and 'add_header Allow "POST, OPTIONS" always;' in on


def test_settings_reach_the_directives() -> None:
    s = replace(BASE, rate_limit_per_second=7, rate_limit_burst=3, max_body_bytes=2048,
                client_timeout_seconds=33, upstream_timeout_seconds=44, listen_port=9000,
                health_port=9001,
                ca_bundle="/etc/ssl/cert.pem", trusted_proxy_cidrs=("10.0.0.0/23", "fd00::/64"))
    lines = directives(render_nginx_config(s))
    for expected in ("client_max_body_size 2048;", "client_header_timeout 10s;",
                     "client_body_timeout 33s;", "proxy_read_timeout 44s;",
                     "proxy_send_timeout 44s;", "listen 9000 default_server;", "listen 9001;",
                     "real_ip_recursive off;",
                     "proxy_ssl_trusted_certificate /etc/ssl/cert.pem;",
                     "set_real_ip_from 10.0.0.0/23;", "set_real_ip_from fd00::/64;",
                     "limit_req zone=liveness_per_client burst=3 nodelay;"):
        assert expected in lines, expected
    assert any(line.startswith("limit_req_zone ") and line.endswith("rate=7r/s;") for line in lines)


def test_without_trusted_ranges_the_peer_is_the_client() -> None:
    text = render_nginx_config(replace(BASE, trusted_proxy_cidrs=()))
    assert "set_real_ip_from" not in text and "real_ip_header" not in text


def test_access_log_never_names_credentials_cookies_or_bodies() -> None:
    text = render_nginx_config(BASE)
    log_format = next(line for line in text.splitlines() if "log_format" in line)
    for secret in ("$http_authorization", "$http_cookie", "$request_body", "$cookie_", "$args",
                   "$http_ocp_apim"):
        assert secret not in log_format
    assert "escape=json" in log_format and "access_log /dev/stdout liveness_json " in text


def test_the_file_is_a_complete_top_level_nginx_conf() -> None:
    text = render_nginx_config(BASE)
    assert text.count("{") == text.count("}")
    top = [line for line in text.splitlines() if line and not line.startswith((" ", "#", "}"))]
    assert "events {" in top and "http {" in top
    assert "include" not in text, "must not depend on files that differ between images"


def test_local_run_changes_only_what_serve_may_change() -> None:
    shipped = directives(render_nginx_config(BASE))
    local = directives(render_nginx_config(BASE, LOCAL))
    assert len(shipped) == len(local)
    changed = [(a, b) for a, b in zip(shipped, local) if a != b]
    allowed_prefixes = ("listen ", "server ", "proxy_ssl_trusted_certificate ",
                        "pid ", "client_body_temp_path ", "proxy_temp_path ",
                        "fastcgi_temp_path ", "uwsgi_temp_path ", "scgi_temp_path ")
    assert changed, "the local run must actually change the addresses"
    for before, after in changed:
        prefix = next((p for p in allowed_prefixes if before.startswith(p)), None)
        assert prefix and after.startswith(prefix), (before, after)
    assert "listen 127.0.0.1:18080 default_server;" in local
    assert "server 127.0.0.1:18443 max_fails=0;" in local
    assert f"proxy_ssl_name {FACE};" in local
    assert [l for l in local if l.startswith("proxy_set_header Host")] == \
        [l for l in shipped if l.startswith("proxy_set_header Host")]


def test_ipv6_local_addresses_are_bracketed() -> None:
    local = replace(LOCAL, listen="[::1]:18080", face_address="[::1]:18443")
    lines = directives(render_nginx_config(BASE, local))
    assert "listen [::1]:18080 default_server;" in lines
    assert "server [::1]:18443 max_fails=0;" in lines


@pytest.mark.parametrize("field,value", [
    ("face_host", "evil.com; include /etc/passwd"),
    ("face_host", "UPPER.example.com"),
    ("face_host", ""),
    ("rate_limit_per_second", 0),
    ("rate_limit_burst", -1),
    ("max_body_bytes", 10),
    ("max_body_bytes", True),
    ("client_timeout_seconds", 240),
    ("upstream_timeout_seconds", 300),
    ("trusted_proxy_cidrs", ("0.0.0.0/0",)),
    ("trusted_proxy_cidrs", ("10.0.0.0/33",)),
    ("trusted_proxy_cidrs", "10.0.0.0/8"),
    ("health_port", 8080),
    ("listen_port", 70000),
    ("trusted_proxy_cidrs", ("0.0.0.0/1", "128.0.0.0/1")),
    ("trusted_proxy_cidrs", ("10.0.0.0/8", "11.0.0.0/24")),
    ("trusted_proxy_cidrs", ("8000::/2",)),
    ("upstream_address", ""),
    ("upstream_address", "face.example.com"),
    ("upstream_address", "10.40.2.4:443"),
    ("upstream_address", "127.0.0.1"),
    ("upstream_address", "0.0.0.0"),
    ("upstream_address", "224.0.0.1"),
    ("upstream_address", "fd00::4"),
    ("upstream_address", "10.40.2.4; include /etc/passwd"),
    ("upstream_host", "proxy"),
    ("upstream_host", ""),
    ("cpu", 0),
    ("cpu", True),
    ("concurrent_requests", 0),
    ("upstream_idle_ms", 60_000),
    ("ca_bundle", "relative.pem"),
    ("ca_bundle", "/etc/ssl/a b.pem"),
    ("ca_bundle", "/etc/ssl/x;y"),
])
def test_invalid_settings_are_refused_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(ProxyConfigError) as info:
        render_nginx_config(replace(BASE, **{field: value}))
    assert info.value.name == field
    assert str(info.value).startswith(f"{field}: received ")


@pytest.mark.parametrize("field,value", [
    ("listen", "0.0.0.0"), ("listen", "localhost:80"), ("face_address", "127.0.0.1:0"),
    ("face_address", "evil;:443"), ("face_address", "face.example.com:443"),
    ("runtime_dir", "/tmp/a b"),
    ("health_listen", "127.0.0.1:18080"),
])
def test_invalid_local_run_is_refused(field: str, value: str) -> None:
    with pytest.raises(ProxyConfigError) as info:
        render_nginx_config(BASE, replace(LOCAL, **{field: value}))
    assert info.value.name == field


def test_every_stack_renders() -> None:
    """Each shipped example stack renders."""
    from infra.config import loader as config
    from tests.shipped_stacks import SHIPPED_STACKS

    names = SHIPPED_STACKS
    assert names, "stacks/ holds no stack files"
    for name in names:
        settings = config.load_stack_settings(name).proxy_settings()
        assert isinstance(settings, ProxySettings)
        text = render_nginx_config(settings)
        assert f"proxy_ssl_name {settings.face_host};" in text


def test_trusted_ranges_up_to_a_slash_8_are_accepted() -> None:
    from components.proxy_settings import CONTAINER_APPS_PLATFORM_CIDRS

    for cidrs in (("10.0.0.0/8",), ("10.40.0.0/23", *CONTAINER_APPS_PLATFORM_CIDRS),
                  ("10.0.0.0/9", "10.128.0.0/9"), ("10.0.0.0/8", "10.1.0.0/16")):
        render_nginx_config(replace(BASE, trusted_proxy_cidrs=cidrs))


def test_a_changed_endpoint_address_changes_only_the_server_lines() -> None:
    """The container's NGINX_CONFIG_SHA256 hashes the rendering, so a new private endpoint address
    is a new revision; nothing else in the file moves."""
    import hashlib

    old = render_nginx_config(BASE)
    new = render_nginx_config(replace(BASE, upstream_address="10.40.2.5"))
    assert hashlib.sha256(old.encode()).hexdigest() != hashlib.sha256(new.encode()).hexdigest()
    changed = [(a, b) for a, b in zip(directives(old), directives(new)) if a != b]
    # The server is listed twice, the second as a backup (a second try needs a second entry).
    assert changed == [("server 10.40.2.4:443 max_fails=0;", "server 10.40.2.5:443 max_fails=0;"),
                       ("server 10.40.2.4:443 max_fails=0 backup;", "server 10.40.2.5:443 max_fails=0 backup;")]
