"""The loopback world `liveness-infra smoke` is proved against.

    client (smoke) --TLS--> TlsFront (stands in for the Container Apps ingress; test CA)
                              --plain--> `proxy serve` (real nginx, shipped config)
                                           --TLS--> FaceStandin (answers like Face)
    client (smoke) --HTTP--> Redirector (the ingress' http -> https redirect)
    client (smoke) --DNS---> Knot DNS (public zone of the proxy host, ingress zone)

Faults are made by switching what the front presents (certificate) or where it relays to (the
Face stand-in directly = a proxy that forwards everything), and what the stand-in answers.
"""

from __future__ import annotations

import http.server
import json
import select
import socket
import ssl
import threading
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proxykit.pki import TestCA

FACE_ERROR_401 = {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API "
                                                      "endpoint. Make sure to provide a valid key for an active "
                                                      "subscription and use a correct regional API endpoint."}}
FACE_ERROR_403 = {"error": {"code": "Forbidden", "message": "Access denied: the request did not come through a "
                                                            "registered proxy."}}


def issue(ca: TestCA, label: str, names: list[str], **validity: float) -> tuple[str, str]:
    """A server certificate from ``ca`` (TestCA.issue's validity keywords) as (cert path, key path)."""
    files = ca.issue(label, names, **validity)
    return str(files.cert), str(files.key)


def face_answer(status: int, document: dict, reason: str = "") -> bytes:
    body = json.dumps(document).encode()
    return (f"HTTP/1.1 {status} {reason or 'Status'}\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"apim-request-id: {uuid.uuid4()}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def face_like(session_token: str | None = None, forbidden: bool = False):
    """A responder that answers like Face: 401 error JSON without a valid token, 403 when ``forbidden``,
    200 for ``session/start`` with ``Bearer session_token``."""

    def respond(record) -> bytes:
        if forbidden:
            return face_answer(403, FACE_ERROR_403, "Forbidden")
        auth = b"".join(record.header("authorization"))
        if session_token and auth == f"Bearer {session_token}".encode() and b"/session/start" in record.request_line:
            return face_answer(200, {"status": "NotStarted"}, "OK")
        return face_answer(401, FACE_ERROR_401, "Unauthorized")

    return respond


class TlsFront:
    """Terminates TLS with a switchable certificate and relays bytes to a switchable backend."""

    def __init__(self, host: str, cert: str, key: str, backend: tuple[str, int]):
        self.host = host
        self.backend = backend
        self.backend_tls: ssl.SSLContext | None = None  # set to relay over TLS (to the Face stand-in)
        self.backend_sni: str | None = None
        self.use(cert, key)
        self.sock = socket.create_server((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True, name=f"front-{self.port}")

    def use(self, cert: str, key: str) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.context = context

    def start(self) -> "TlsFront":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            client = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        try:
            upstream = socket.create_connection(self.backend, timeout=10)
            if self.backend_tls is not None:
                upstream = self.backend_tls.wrap_socket(upstream, server_hostname=self.backend_sni)
        except OSError:
            client.close()
            return
        try:
            _relay(client, upstream)
        finally:
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass


def _relay(a: socket.socket, b: socket.socket, idle: float = 10.0) -> None:
    """Copy bytes both ways in one thread (an SSL object must not be read and written concurrently)
    until either side closes or nothing moves for ``idle`` seconds. Non-blocking reads: a TLS
    record that carries no data (a TLS 1.3 session ticket) must not block the relay."""
    for sock in (a, b):
        sock.setblocking(False)
    while True:
        ready = [s for s in (a, b) if isinstance(s, ssl.SSLSocket) and s.pending()] \
            or select.select([a, b], [], [], idle)[0]
        if not ready:
            return
        for src in ready:
            try:
                data = src.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                continue
            except OSError:
                return
            if not data:
                return
            if not _send_all(b if src is a else a, data):
                return


def _send_all(sock: socket.socket, data: bytes, timeout: float = 10.0) -> bool:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            if not select.select([], [sock], [], timeout)[1]:
                return False
        except OSError:
            return False
    return True


class Redirector:
    """Plain HTTP on loopback answering every request with 301 to https://<Host><path>.

    `location_host`, when set, replaces <Host> in the Location (a redirect to another host).
    """

    def __init__(self, host: str = "127.0.0.1"):
        rig = self
        self.location_host: str | None = None

        class Handler(http.server.BaseHTTPRequestHandler):
            def _redirect(self) -> None:
                where = rig.location_host or (self.headers.get("Host") or "").split(":")[0]
                self.send_response(301)
                self.send_header("Location", f"https://{where}{self.path}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = do_OPTIONS = _redirect

            def log_message(self, *_args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self) -> "Redirector":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
