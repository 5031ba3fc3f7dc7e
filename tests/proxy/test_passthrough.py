"""Allowed liveness calls reach the Face stand-in exactly as sent, and the answer comes back unchanged."""

from __future__ import annotations

import hashlib
import os

import pytest
from proxykit.harness import FACE_HOST, RunningProxy, settings
from proxykit.rawhttp import build_request, exchange
from proxykit.standin import FaceStandin, Recorded

from components.proxy_routes import LIVENESS_ROUTES

# Headers a proxy replaces or must not forward (Host is checked on its own, per mode).
HOP_BY_HOP = {b"host", b"connection", b"keep-alive", b"te", b"upgrade", b"proxy-connection",
              b"proxy-authorization", b"transfer-encoding", b"expect", b"content-length"}
RESPONSE_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"content-length"}


def split_head(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    fields = [line.split(b":", 1) for line in lines[1:]]
    return lines[0], [(name.strip(), value.strip()) for name, value in fields], body


def assert_forwarded_unchanged(sent: bytes, got: Recorded, host_mode: str = "client") -> None:
    """Method, target, every end-to-end header (names, values, order) and body bytes are equal;
    Host is the client's (mode "client", the default) or the account hostname (mode "account");
    SNI is the account hostname; nothing was added but Host/Connection/Content-Length."""
    line, headers, body = split_head(sent)
    sent_host = [v for k, v in headers if k.lower() == b"host"]
    expected_host = sent_host if host_mode == "client" and sent_host else [FACE_HOST.encode()]
    method, target, _version = line.split(b" ")
    assert got.request_line == method + b" " + target + b" HTTP/1.1"
    end_to_end = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
    forwarded = [(k, v) for k, v in got.headers if k.lower() not in HOP_BY_HOP]
    assert forwarded == end_to_end
    assert got.header("host") == expected_host
    assert got.body == body
    lengths = got.header("content-length")
    sent_lengths = [v for k, v in headers if k.lower() == b"content-length"]
    assert lengths == sent_lengths or (not sent_lengths and lengths in ([], [b"0"]))
    assert got.sni == FACE_HOST


def versions_and_cases() -> list[str]:
    targets = []
    for route in LIVENESS_ROUTES:
        for version in ("v1.2", "v1.1-preview.1"):
            path = route.replace("{version}", version)
            targets += [path, path.lower()]
    return targets


MULTIPART_BOUNDARY = "----liveness7MA4YWxkTrZu0gW"


def multipart(parts: list[tuple[str, str, bytes]]) -> bytes:
    out = b""
    for name, content_type, data in parts:
        out += (f"--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                f"filename=\"{name}.bin\"\r\nContent-Type: {content_type}\r\n\r\n").encode()
        out += data + b"\r\n"
    return out + f"--{MULTIPART_BOUNDARY}--\r\n".encode()


REQUEST_SHAPES = {
    "json": ([("Authorization", "Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature"),
              ("Content-Type", "application/json"), ("User-Agent", "face-sdk-ios/1.2.0"),
              ("X-MS-Client-Request-Id", "5e2c0d0a-7b1f-4f6e-9d43-2f3c1a6b7e90"),
              ("Accept", "application/json")], b'{"livenessOperationMode":"Passive"}'),
    "empty": ([("Authorization", "Bearer t0ken"), ("Accept", "*/*")], b""),
    "multipart": ([("Authorization", "Bearer abc.def.ghi"),
                   ("Content-Type", f"multipart/form-data; boundary={MULTIPART_BOUNDARY}")],
                  multipart([("Content", "application/octet-stream", bytes(range(256)) * 8),
                             ("Metadata", "application/json", b'{"a":1}')])),
    "odd-headers": ([("authorization", "Bearer lower-case-name"), ("X-Repeated", "one"),
                     ("X-Repeated", "two"), ("x_under_score", "kept"), ("Cookie", "a=b; c=d"),
                     ("X-Forwarded-For", "198.51.100.9"), ("X-Empty", ""),
                     ("Accept-Language", "en-US,en;q=0.9"), ("Content-Type", "application/json")],
                    b'["\\u00e9\xc3\xa9"]'),
}


@pytest.fixture(scope="module")
def account_host_proxy(proxy_factory, standin: FaceStandin) -> RunningProxy:
    """The main settings with proxyUpstreamHost `account`."""
    return proxy_factory(settings(upstream_host="account"), standin.address)


@pytest.mark.parametrize("mode", ["client", "account"])
@pytest.mark.parametrize("shape", sorted(REQUEST_SHAPES))
@pytest.mark.parametrize("target", versions_and_cases())
def test_allowed_request_arrives_identical(request: pytest.FixtureRequest, upstream: FaceStandin,
                                           target: str, shape: str, mode: str) -> None:
    proxy = request.getfixturevalue("main_proxy" if mode == "client" else "account_host_proxy")
    headers, body = REQUEST_SHAPES[shape]
    for query in ("", "?a=1&b=%2F%20x&c"):
        upstream.reset()
        sent = build_request("POST", target + query, headers, body)
        result = exchange(proxy.host, proxy.port, sent)
        assert result.status == 200, result
        assert len(upstream.records) == 1
        assert_forwarded_unchanged(sent, upstream.records[0], mode)


def test_http10_client_and_keepalive_connection_header(main_proxy: RunningProxy,
                                                       upstream: FaceStandin) -> None:
    sent = (b"POST /face/v1.2/session/start HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n"
            b"Keep-Alive: timeout=5\r\nAuthorization: Bearer z\r\nContent-Length: 2\r\n\r\n{}")
    result = exchange(main_proxy.host, main_proxy.port, sent)
    assert result.status == 200
    assert_forwarded_unchanged(sent, upstream.records[0])


def test_browser_preflight_is_forwarded_when_enabled(main_proxy: RunningProxy,
                                                     upstream: FaceStandin) -> None:
    upstream.respond = lambda _r: (
        b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: https://app.example\r\n"
        b"Access-Control-Allow-Methods: POST\r\nAccess-Control-Allow-Headers: authorization\r\n\r\n")
    sent = build_request("OPTIONS", "/face/v1.2/detectliveness/singlemodal",
                         [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST"),
                          ("Access-Control-Request-Headers", "authorization,content-type")])
    result = exchange(main_proxy.host, main_proxy.port, sent)
    assert result.status == 204
    assert result.responses[0].header("access-control-allow-origin") == [b"https://app.example"]
    assert_forwarded_unchanged(sent, upstream.records[0])


def _response_fields(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return sorted((k.lower(), v) for k, v in headers if k.lower() not in RESPONSE_HOP_BY_HOP)


RESPONSE_BODY = os.urandom(3000) + b'{"error":{"code":"x"}}'
UPSTREAM_RESPONSES = {
    "created": b"HTTP/1.1 201 Created\r\n",
    "unauthorized": b"HTTP/1.1 401 Unauthorized\r\n",
    "throttled": b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n",
    "server-error": b"HTTP/1.1 500 Internal Server Error\r\n",
    "not-modified-bait": b"HTTP/1.1 200 OK\r\nLast-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                         b"ETag: \"abc\"\r\nAccept-Ranges: bytes\r\n",
}


@pytest.mark.parametrize("name", sorted(UPSTREAM_RESPONSES))
def test_response_comes_back_unchanged(main_proxy: RunningProxy, upstream: FaceStandin,
                                       name: str) -> None:
    head = UPSTREAM_RESPONSES[name] + (
        b"Server: Face-Standin/9.9\r\nDate: Tue, 02 Jan 2024 03:04:05 GMT\r\n"
        b"Content-Type: application/json; charset=utf-8\r\napim-request-id: 1234\r\n"
        b"Set-Cookie: a=b; Secure\r\nSet-Cookie: c=d\r\nCache-Control: no-store\r\n"
        b"Vary: Origin\r\nX-Accel-Redirect: /internal\r\nX-Accel-Buffering: no\r\n"
        b"X-Pad: avoid browser bug\r\nExpires: 0\r\n")
    raw_response = head + b"Content-Length: " + str(len(RESPONSE_BODY)).encode() + b"\r\n\r\n" + \
        RESPONSE_BODY
    upstream.respond = lambda _r: raw_response
    # Conditional and range headers must not make nginx answer on Face's behalf.
    sent = build_request("POST", "/face/v1.2/session/attempt/end",
                         [("If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"),
                          ("If-None-Match", "\"abc\""), ("Range", "bytes=0-10")], b"{}")
    result = exchange(main_proxy.host, main_proxy.port, sent)
    expected_line, expected_headers, expected_body = split_head(raw_response)
    got = result.responses[0]
    assert got.status == int(expected_line.split(b" ")[1])
    assert got.reason == expected_line.split(b" ", 2)[2]
    assert _response_fields(got.headers) == _response_fields(expected_headers)
    assert got.body == expected_body
    assert len(upstream.records) == 1


def test_six_megabyte_multipart_passes_intact(main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    image = os.urandom(6 * 1000 * 1000)
    body = multipart([("VerifyImage", "image/jpeg", image), ("Metadata", "application/json", b"{}")])
    sent = build_request("POST", "/face/v1.2/detectlivenesswithverify/singlemodal",
                         [("Authorization", "Bearer big"),
                          ("Content-Type", f"multipart/form-data; boundary={MULTIPART_BOUNDARY}")],
                         body)
    result = exchange(main_proxy.host, main_proxy.port, sent, timeout=30)
    assert result.status == 200
    assert len(upstream.records) == 1
    got = upstream.records[0]
    assert hashlib.sha256(got.body).hexdigest() == hashlib.sha256(body).hexdigest()
    assert_forwarded_unchanged(sent, got)


def test_body_cap_boundary(main_proxy: RunningProxy, upstream: FaceStandin) -> None:
    cap = main_proxy.process.settings.max_body_bytes
    at_cap = build_request("POST", "/face/v1.2/session/start", [], b"a" * cap)
    assert exchange(main_proxy.host, main_proxy.port, at_cap, timeout=30).status == 200
    assert len(upstream.records) == 1 and len(upstream.records[0].body) == cap
    upstream.reset()
    over = build_request("POST", "/face/v1.2/session/start", [], b"a" * (cap + 1))
    assert exchange(main_proxy.host, main_proxy.port, over, timeout=30).status == 413
    assert upstream.records == [] and upstream.tls_connections == 0


def test_request_smuggled_inside_a_body_stays_a_body(main_proxy: RunningProxy,
                                                     upstream: FaceStandin) -> None:
    inner = (b"POST /face/v1.2/detectLiveness-sessions HTTP/1.1\r\nHost: x\r\n"
             b"Content-Length: 0\r\n\r\n")
    sent = build_request("POST", "/face/v1.2/session/start", [("Content-Type", "text/plain")], inner)
    result = exchange(main_proxy.host, main_proxy.port, sent)
    assert result.status == 200
    assert len(upstream.records) == 1 and upstream.records[0].body == inner


def test_pipelined_second_request_is_judged_on_its_own(main_proxy: RunningProxy,
                                                       upstream: FaceStandin) -> None:
    allowed = build_request("POST", "/face/v1.2/session/start", [], b"{}")
    smuggled = build_request("POST", "/face/v1.2/detectLiveness-sessions", [], b"{}")
    allowed_again = build_request("POST", "/face/v1.2/session/attempt/end", [], b"[]")
    result = exchange(main_proxy.host, main_proxy.port, allowed + smuggled + allowed_again, expect=3)
    assert [r.status for r in result.responses] == [200, 404, 200]
    assert [r.request_line for r in upstream.records] == [
        b"POST /face/v1.2/session/start HTTP/1.1", b"POST /face/v1.2/session/attempt/end HTTP/1.1"]

