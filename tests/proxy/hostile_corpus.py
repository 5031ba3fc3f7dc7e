"""The hostile-request corpus: requests that must be refused without reaching Face.

Each case is raw bytes (sent in pieces with a pause for the slow-client cases). The corpus is
built from the four real routes, so it tests exactly the shapes an attacker would try against
them: other Face routes, encodings, dot-segments, doubled slashes, ``;params``, trailing
slashes, version look-alikes, method tricks, header tricks, CL/TE smuggling, oversized bodies
and headers, and clients too slow to finish their request head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

from components.proxy_routes import LIVENESS_ROUTES

VERSION = "v1.2"


@dataclass(frozen=True)
class Case:
    name: str
    pieces: tuple[bytes, ...]
    pause: float = 0.0
    timeout: float = 5.0
    tags: tuple[str, ...] = field(default_factory=tuple)
    head: bool = False      # a HEAD request: answers carry no body


def _request(method: str, target: str, headers: list[str] | None = None, body: bytes = b"",
             *, version: str = "HTTP/1.1", host: bool = True, length: bool = True) -> bytes:
    lines = [f"{method} {target} {version}"]
    if host:
        lines.append("Host: liveness.example.test")
    lines += headers or []
    if length and body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _routes() -> list[str]:
    return [r.replace("{version}", VERSION) for r in LIVENESS_ROUTES]


def _path_mutations(path: str) -> dict[str, str]:
    """Targets that look like ``path`` but are not exactly it."""
    head, _, last = path.rpartition("/")
    first_letter = last[0]
    return {
        "trailing-slash": path + "/",
        "double-trailing-slash": path + "//",
        "param": path + ";x=1",
        "empty-param": path + ";",
        "param-mid": head + ";a=b/" + last,
        "dot-suffix": path + "/.",
        "dotdot-suffix": path + "/..",
        "dotdot-escape": path + "/../../detectLiveness-sessions",
        "dotdot-back-in": f"{path}/../{last}",
        "dot-mid": f"{head}/./{last}",
        "prefix-dotdot": "/x/.." + path,
        "prefix-double-slash": "/" + path,
        "double-slash-mid": f"{head}//{last}",
        "encoded-slash": f"{head}%2F{last}",
        "encoded-slash-lower": f"{head}%2f{last}",
        "encoded-letter": f"{head}/%{ord(first_letter):02X}{last[1:]}",
        "double-encoded-slash": f"{head}%252F{last}",
        "encoded-dot-dot": path + "/%2e%2e/%2E%2E/detect",
        "encoded-null": path + "%00",
        "encoded-space": path + "%20",
        "backslash": f"{head}\\{last}",
        "encoded-backslash": f"{head}%5C{last}",
        "overlong-slash": f"{head}%c0%af{last}",
        "fragment": path + "#frag",
        "fragment-traversal": f"{head}/x#/../{last}",
        "suffix-json": path + ".json",
        "suffix-letter": path + "x",
        "semicolon-dotdot": path + "/..;/..;/detect",
        "tab-suffix": path + "%09",
        "question-in-path": path.replace("/face/", "/face?/"),
    }


VERSION_LOOKALIKES = ["v1", "1.2", "v1.2-preview", "v1.2-beta.1", "v1.2.3", "v1.2-preview.1x",
                      "", "v1.2%2D", "vv1.2", "v1.2-preview.1-preview.2", "v%31.2", ".."]

OTHER_TARGETS = [
    "/face/v1.2/detectLiveness-sessions",
    "/face/v1.2/detectLiveness-sessions/abc",
    "/face/v1.2/detectLivenessWithVerify-sessions",
    "/face/v1.2/detect",
    "/face/v1.2/verify",
    "/face/v1.2/identify",
    "/face/v1.2/persongroups/x/persons",
    "/face/v1.2/facelists",
    "/face/v1.2/session",
    "/face/v1.2/session/attempt",
    "/face/v1.2/session/start/attempt/end",
    "/face/v1.2/detectLiveness",
    "/face/v1.2/detectLiveness/multiModal",
    "/face/v1.2/",
    "/face/v1.2",
    "/face",
    "/",
    "/healthz",
    "/nginx_status",
    "/.well-known/security.txt",
    "/vision/v3.2/analyze",
    "/formrecognizer/documentModels",
    "/openai/deployments/x/chat/completions",
    "/sts/v1.0/issueToken",
    "/face/v1.2/detectliveness-sessions",
    "*",
]


def _case(name: str, data: bytes | tuple[bytes, ...], *tags: str, pause: float = 0.0,
          timeout: float = 5.0) -> Case:
    pieces = data if isinstance(data, tuple) else (data,)
    return Case(name, pieces, pause, timeout, tags, head=name.startswith("method:'HEAD'"))


def _path_cases(routes: list[str], body: bytes) -> Iterator[Case]:
    """Look-alike paths of every route."""
    for route in routes:
        for label, target in _path_mutations(route).items():
            yield _case(f"path:{label}:{route}", _request("POST", target, body=body), "path")


def _version_cases(routes: list[str], body: bytes) -> Iterator[Case]:
    """Version segments that are not v<major>.<minor>[-preview.<n>]."""
    for route in routes:
        for version in VERSION_LOOKALIKES:
            target = route.replace(f"/{VERSION}/", f"/{version}/")
            yield _case(f"version:{version!r}:{route}", _request("POST", target, body=body), "version")


def _route_cases(body: bytes) -> Iterator[Case]:
    """Other Face (and Azure AI) routes and other paths."""
    for target in OTHER_TARGETS:
        yield _case(f"route:{target}", _request("POST", target, body=body), "route")
        yield _case(f"route-get:{target}", _request("GET", target), "route")


def _method_cases(routes: list[str], body: bytes) -> Iterator[Case]:
    """Methods other than POST (OPTIONS is enabled on the main proxy and tested as allowed)."""
    for route in routes:
        for method in ("GET", "HEAD", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND",
                       "MOVE", "FOO", "post", "P0ST", "POST\t"):
            yield _case(f"method:{method!r}:{route}", _request(method, route, body=body), "method")


def _line_cases(route: str, body: bytes) -> Iterator[Case]:
    """Request-target forms and protocol versions."""
    for label, line in {
        "absolute-form": f"POST http://fl-test-face.cognitiveservices.azure.com{route} HTTP/1.1",
        "absolute-form-https": f"POST https://evil.example{route} HTTP/1.1",
        "absolute-form-other-route": "POST http://x/face/v1.2/detect HTTP/1.1",
        "authority-form": "CONNECT fl-test-face.cognitiveservices.azure.com:443 HTTP/1.1",
        "asterisk": "OPTIONS * HTTP/1.1",
        "http2-line": f"POST {route} HTTP/2.0",
        "http12": f"POST {route} HTTP/1.2",
        "http3": f"POST {route} HTTP/3.0",
        "http09": f"POST {route}",
        "lowercase-version": f"POST {route} http/1.1",
        "double-space": f"POST  {route} HTTP/1.1",
        "space-in-target": f"POST {route} x HTTP/1.1",
        "tab-separator": f"POST\t{route}\tHTTP/1.1",
        "leading-space": f" POST {route} HTTP/1.1",
        "no-slash": f"POST {route[1:]} HTTP/1.1",
    }.items():
        yield _case(f"line:{label}", (line + "\r\nHost: x\r\nContent-Length: 7\r\n\r\n").encode() + body,
                    "line")


def _header_cases(route: str, body: bytes) -> Iterator[Case]:
    """Header tricks nginx must refuse before anything is forwarded."""
    for label, headers in {
        "duplicate-host": ["Host: other.example"],
        "host-with-slash": None,
        "header-nul": ["X-Nul: a\x00b"],
        "header-name-space": ["Bad Header: 1"],
        "obs-fold": ["X-Folded: a", " continued"],
        "header-cr-only": ["X-Cr: a\rInjected: b"],
        "huge-header": ["X-Huge: " + "a" * 20000],
        "many-headers": [f"X-Many-{i}: " + "b" * 400 for i in range(100)],
        "huge-cookie": ["Cookie: " + "c=" + "d" * 17000],
    }.items():
        if label == "host-with-slash":
            data = _request("POST", route, ["Content-Length: 7"], host=False, length=False) \
                .replace(b"\r\n", b"\r\nHost: a/b\r\n", 1) + body
        else:
            data = _request("POST", route, headers, body)
        yield _case(f"header:{label}", data, "header")
    yield _case("header:missing-host-http11", _request("POST", route, body=body, host=False), "header")


def _smuggle_cases(route: str, body: bytes) -> Iterator[Case]:
    """Content-Length / Transfer-Encoding smuggling attempts on an allowed route."""
    smuggled = b"POST /face/v1.2/detectLiveness-sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    chunked = b"7\r\n" + body + b"\r\n0\r\n\r\n"
    for label, headers, payload in [
        ("cl-te", ["Content-Length: 4", "Transfer-Encoding: chunked"], b"0\r\n\r\n" + smuggled),
        ("te-cl", ["Transfer-Encoding: chunked", "Content-Length: 3"], b"1\r\nA\r\n0\r\n\r\n"),
        ("te-gzip-chunked", ["Transfer-Encoding: gzip, chunked"], chunked),
        ("te-chunked-identity", ["Transfer-Encoding: chunked, identity"], chunked),
        ("te-identity", ["Transfer-Encoding: identity", "Content-Length: 7"], body),
        ("te-xchunked", ["Transfer-Encoding: xchunked"], chunked),
        ("te-duplicate", ["Transfer-Encoding: chunked", "Transfer-Encoding: identity"], chunked),
        ("te-http10", ["Transfer-Encoding: chunked"], chunked),
        ("te-chunked-twice", ["Transfer-Encoding: chunked, chunked"], chunked),
        ("te-duplicate-chunked", ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"], chunked),
        ("te-comma-empty", ["Transfer-Encoding: ,chunked"], chunked),
        ("te-quoted", ['Transfer-Encoding: "chunked"'], chunked),
        ("te-deflate", ["Transfer-Encoding: deflate"], chunked),
        ("te-obs-fold", ["Transfer-Encoding: gzip,", " chunked"], chunked),
        # Malformed chunk framing: nginx reads chunked bodies whole before Face is contacted.
        ("chunk-size-letters", ["Transfer-Encoding: chunked"], b"zz\r\n" + body + b"\r\n0\r\n\r\n"),
        ("chunk-size-0x", ["Transfer-Encoding: chunked"], b"0x7\r\n" + body + b"\r\n0\r\n\r\n"),
        ("chunk-size-negative", ["Transfer-Encoding: chunked"], b"-7\r\n" + body + b"\r\n0\r\n\r\n"),
        ("chunk-size-overflow", ["Transfer-Encoding: chunked"],
         b"ffffffffffffffffff\r\n" + body + b"\r\n0\r\n\r\n"),
        ("chunk-size-space-inside", ["Transfer-Encoding: chunked"], b"1 0\r\n" + body + b"\r\n0\r\n\r\n"),
        ("chunk-data-longer-than-size", ["Transfer-Encoding: chunked"], b"3\r\n" + body + b"\r\n0\r\n\r\n"),
        ("chunk-data-shorter-than-size", ["Transfer-Encoding: chunked"],
         b"9\r\n" + body + b"\r\nXY0\r\n\r\n"),
        ("chunk-missing-crlf-after-data", ["Transfer-Encoding: chunked"], b"7\r\n" + body + b"0\r\n\r\n"),
        ("cl-duplicate-differs", ["Content-Length: 7", "Content-Length: 8"], body + b"x"),
        ("cl-duplicate-same", ["Content-Length: 7", "Content-Length: 7"], body),
        ("cl-list", ["Content-Length: 7, 7"], body),
        ("cl-negative", ["Content-Length: -1"], body),
        ("cl-plus", ["Content-Length: +7"], body),
        ("cl-hex", ["Content-Length: 0x7"], body),
        ("cl-overflow", ["Content-Length: 99999999999999999999999"], body),
        ("cl-space-inside", ["Content-Length: 7 7"], body),
        ("cl-letters", ["Content-Length: seven"], body),
        ("cl-over-cap", ["Content-Length: 8388609"], body),
        ("cl-way-over-cap", ["Content-Length: 1073741824"], body),
    ]:
        version = "HTTP/1.0" if label == "te-http10" else "HTTP/1.1"
        yield _case(f"smuggle:{label}", _request("POST", route, headers, payload, version=version,
                                                 length=False), "smuggle")


def _oversize_cases(route: str, body: bytes) -> Iterator[Case]:
    """Oversized target."""
    yield _case("oversize:uri", _request("POST", route + "?" + "q" * 9000, body=body), "oversize")
    yield _case("oversize:path", _request("POST", "/face/" + "a" * 12000, body=body), "oversize")
    # Oversized bodies are refused on the Content-Length, before any body byte is forwarded.
    for size in (8 * 1024 * 1024 + 1, 10 * 1024 * 1024, 64 * 1024 * 1024):
        head = _request("POST", route, [f"Content-Length: {size}"], length=False)
        yield _case(f"oversize:body-{size}", (head, b"z" * 65536), "oversize", pause=0.05)


def _slow_cases(route: str, body: bytes) -> Iterator[Case]:
    """Slow clients: the request head never completes before client_header_timeout."""
    full = _request("POST", route, ["Authorization: Bearer slow"], body)
    yield _case("slow:headers-trickle", tuple(full[i:i + 8] for i in range(0, 40, 8)), "slow",
                pause=0.6, timeout=8)
    yield _case("slow:head-never-ends", (full[:60],), "slow", timeout=8)
    yield _case("slow:request-line-never-ends", (b"POST /face/v1.2/sess",), "slow", timeout=8)
    yield _case("slow:connect-and-say-nothing", (b"",), "slow", timeout=8)
    yield _case("slow:header-one-byte-a-second", tuple(bytes([b]) for b in full[:6]), "slow",
                pause=1.0, timeout=8)
    yield _case("slow:refused-route-slow-body",
                (_request("POST", "/face/v1.2/detect", ["Content-Length: 100"], length=False), b"x" * 10),
                "slow", pause=0.5, timeout=8)


def build_corpus() -> list[Case]:
    routes = _routes()
    route = routes[0]
    body = b'{"x":1}'
    return [*_path_cases(routes, body), *_version_cases(routes, body), *_route_cases(body),
            *_method_cases(routes, body), *_line_cases(route, body), *_header_cases(route, body),
            *_smuggle_cases(route, body), *_oversize_cases(route, body), *_slow_cases(route, body)]
