"""A TLS server standing in for the Face account: records every request byte for byte.

It reads one request per connection turn (Content-Length or chunked framing), keeps the exact
bytes it received, and answers with whatever the current ``respond`` callable returns.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Self

MAX_REQUEST_BYTES = 64 * 1024 * 1024


@dataclass
class Recorded:
    raw: bytes                      # every byte of the request as received
    request_line: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    sni: str | None
    server_address: tuple[str, int]
    received_at: float = field(default_factory=time.monotonic)

    def header(self, name: str) -> list[bytes]:
        wanted = name.lower().encode()
        return [v for k, v in self.headers if k.lower() == wanted]


# A response function gets the recorded request and returns the raw response bytes, or None to
# close the connection without answering.
Responder = Callable[[Recorded], "bytes | None"]


def default_response(_request: Recorded) -> bytes:
    body = b'{"status":"ok","source":"face-standin"}'
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
            b"apim-request-id: 00000000-1111-2222-3333-444444444444\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


class _Incomplete(Exception):
    pass


def _read_request(conn: ssl.SSLSocket, buffer: bytearray) -> tuple[bytes, bytes, bytes] | None:
    """(raw, head, body) of the next request, or None when the peer closed cleanly."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            if buffer:
                raise _Incomplete("closed inside the head")
            return None
        buffer.extend(chunk)
        if len(buffer) > MAX_REQUEST_BYTES:
            raise _Incomplete("request too large")
    head_end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:head_end])
    lines = head[:-4].split(b"\r\n")
    headers = [tuple(part.strip() for part in line.split(b":", 1)) for line in lines[1:]]
    lengths = [v for k, v in headers if k.lower() == b"content-length"]
    chunked = any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers)

    def need(n: int) -> None:
        while len(buffer) < n:
            chunk = conn.recv(1024 * 1024)
            if not chunk:
                raise _Incomplete("closed inside the body")
            buffer.extend(chunk)

    if chunked:
        pos, body = head_end, bytearray()
        while True:
            while b"\r\n" not in buffer[pos:]:
                need(len(buffer) + 1)
            line_end = buffer.index(b"\r\n", pos)
            size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
            pos = line_end + 2
            if size == 0:
                while not buffer[pos:].startswith(b"\r\n") and b"\r\n\r\n" not in buffer[pos - 2:]:
                    need(len(buffer) + 1)
                end = pos + 2 if buffer[pos:].startswith(b"\r\n") else \
                    buffer.index(b"\r\n\r\n", pos - 2) + 4
                break
            need(pos + size + 2)
            body.extend(buffer[pos:pos + size])
            pos += size + 2
        raw = bytes(buffer[:end])
        del buffer[:end]
        return raw, head, bytes(body)
    length = int(lengths[0]) if lengths else 0
    need(head_end + length)
    raw = bytes(buffer[:head_end + length])
    del buffer[:head_end + length]
    return raw, head, raw[head_end:]


class FaceStandin:
    """Threaded TLS server on (host, port); ``records`` lists every request it received."""

    def __init__(self, host: str, port: int, cert: str, key: str,
                 respond: Responder = default_response,
                 idle_close: Callable[[], float] | None = None):
        self.host, self.port = host, port
        self.respond = respond
        # When set: how long (seconds, drawn per wait) a connection may sit idle between requests
        # before the stand-in closes it, as a server's keep-alive timeout does.
        self.idle_close = idle_close
        self.records: list[Recorded] = []
        self.tls_connections = 0
        self.resumed_connections = 0    # TLS handshakes that resumed an earlier session
        self.closed_idle_by_standin = 0
        self.closed_by_client = 0       # the proxy closed the connection between requests
        self.sni_names: list[str | None] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.context.sni_callback = self._on_sni
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]

    def _on_sni(self, sslsock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        with self._lock:
            self.sni_names.append(name)
        sslsock.sni = name  # type: ignore[attr-defined]

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def start(self) -> Self:
        thread = threading.Thread(target=self._accept_loop, name=f"standin-{self.port}", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self.sock.close()

    def reset(self) -> None:
        with self._lock:
            self.records.clear()
            self.sni_names.clear()
            self.tls_connections = 0
            self.resumed_connections = 0
            self.closed_idle_by_standin = 0
            self.closed_by_client = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _peer = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            worker.start()

    def _serve(self, raw_conn: socket.socket) -> None:
        raw_conn.settimeout(30)
        try:
            conn = self.context.wrap_socket(raw_conn, server_side=True)
        except (ssl.SSLError, OSError):
            raw_conn.close()
            return
        with self._lock:
            self.tls_connections += 1
            self.resumed_connections += int(bool(conn.session_reused))
        buffer = bytearray()
        try:
            while not self._stop.is_set():
                if self.idle_close is not None and not buffer and not conn.pending():
                    readable, _, _ = select.select([conn], [], [], self.idle_close())
                    if not readable:
                        with self._lock:
                            self.closed_idle_by_standin += 1
                        return
                got = _read_request(conn, buffer)
                if got is None:
                    with self._lock:
                        self.closed_by_client += 1
                    return
                raw, head, body = got
                lines = head[:-4].split(b"\r\n")
                record = Recorded(
                    raw=raw, request_line=lines[0],
                    headers=[tuple(part.strip() for part in line.split(b":", 1))  # type: ignore[misc]
                             for line in lines[1:]],
                    body=body, sni=getattr(conn, "sni", None),
                    server_address=(self.host, self.port))
                with self._lock:
                    self.records.append(record)
                response = self.respond(record)
                if response is None:
                    return
                conn.sendall(response)
                if any(v.lower() == b"close" for v in record.header("connection")):
                    return
        except (_Incomplete, OSError, ssl.SSLError, ValueError):
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass


def main(argv: list[str] | None = None) -> int:
    """Run the stand-in by hand: prints each request it receives, answers 200 JSON."""
    import argparse

    parser = argparse.ArgumentParser(
        description="A TLS stand-in for the Face account that prints every request it receives.")
    parser.add_argument("--listen", default="127.0.0.1:8443", metavar="HOST:PORT")
    parser.add_argument("--cert", required=True, help="PEM certificate for the account hostname")
    parser.add_argument("--key", required=True, help="PEM private key of that certificate")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")

    def show(request: Recorded) -> bytes:
        print(f"--- {len(request.raw)} bytes, SNI {request.sni}", flush=True)
        print(request.raw[:2000].decode("latin-1"), flush=True)
        return default_response(request)

    server = FaceStandin(host.strip("[]"), int(port), args.cert, args.key, respond=show).start()
    print(f"Face stand-in on {server.address}; Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
