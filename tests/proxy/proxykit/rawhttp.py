"""A raw HTTP/1.1 client: sends exact bytes, parses what comes back (or notes that nothing did)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    raw_head: bytes

    def header(self, name: str) -> list[bytes]:
        wanted = name.lower().encode()
        return [v for k, v in self.headers if k.lower() == wanted]


@dataclass
class Exchange:
    responses: list[Response]
    closed: bool            # the server closed the connection
    elapsed: float
    raw: bytes = b""        # every byte the server sent

    @property
    def status(self) -> int | None:
        """Status of the first response; None when the server answered nothing."""
        return self.responses[0].status if self.responses else None


def _parse_one(buffer: bytearray, head_only: bool = False) -> Response | None:
    if b"\r\n\r\n" not in buffer:
        return None
    head_end = buffer.index(b"\r\n\r\n") + 4
    lines = bytes(buffer[:head_end - 4]).split(b"\r\n")
    version, status, *reason = lines[0].split(b" ", 2)
    headers = [tuple(p.strip() for p in line.split(b":", 1)) for line in lines[1:]]
    status_code = int(status)
    lengths = [v for k, v in headers if k.lower() == b"content-length"]
    chunked = any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers)
    if head_only or status_code in (204, 304) or 100 <= status_code < 200:
        body, end = b"", head_end
    elif chunked:
        pos, out = head_end, bytearray()
        while True:
            if b"\r\n" not in buffer[pos:]:
                return None
            line_end = buffer.index(b"\r\n", pos)
            size = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
            pos = line_end + 2
            if size == 0:
                if b"\r\n" not in buffer[pos:]:
                    return None
                end = buffer.index(b"\r\n", pos) + 2
                break
            if len(buffer) < pos + size + 2:
                return None
            out.extend(buffer[pos:pos + size])
            pos += size + 2
        body = bytes(out)
    elif lengths:
        end = head_end + int(lengths[0])
        if len(buffer) < end:
            return None
        body = bytes(buffer[head_end:end])
    else:
        return None  # body until close
    response = Response(status_code, reason[0] if reason else b"", headers,  # type: ignore[arg-type]
                        body, bytes(buffer[:head_end]))
    del buffer[:end]
    return response


def _header(line: bytes) -> tuple[bytes, bytes]:
    name, _, value = line.partition(b":")
    return name.strip(), value.strip()


def exchange(host: str, port: int, data: bytes | list[bytes], *, expect: int = 1,
             timeout: float = 10.0, pause: float = 0.0, head_request: bool = False) -> Exchange:
    """Send ``data`` (a list is sent piece by piece with ``pause`` seconds between pieces) and
    read up to ``expect`` responses, until the server closes, or until ``timeout``."""
    pieces = data if isinstance(data, list) else [data]
    started = time.monotonic()
    deadline = started + timeout
    responses: list[Response] = []
    buffer = bytearray()
    received = bytearray()
    closed = False
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            for index, piece in enumerate(pieces):
                if index and pause:
                    time.sleep(pause)
                sock.sendall(piece)
        except OSError:
            pass  # the server may refuse early and close; read what it said
        while len(responses) < expect and time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(1024 * 1024)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            buffer.extend(chunk)
            received.extend(chunk)
            while len(responses) < expect:
                parsed = _parse_one(buffer, head_only=head_request)
                if parsed is None:
                    break
                responses.append(parsed)
        if closed and buffer and len(responses) < expect:
            # Body delimited by close.
            head_end = buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                lines = bytes(buffer[:head_end]).split(b"\r\n")
                _v, status, *reason = lines[0].split(b" ", 2)
                responses.append(Response(int(status), reason[0] if reason else b"",
                                          [_header(ln) for ln in lines[1:]],
                                          bytes(buffer[head_end + 4:]), bytes(buffer[:head_end + 4])))
    return Exchange(responses, closed, time.monotonic() - started, bytes(received))


def build_request(method: str, target: str, headers: list[tuple[str, str]], body: bytes = b"",
                  *, host: str = "liveness.example.test", content_length: bool = True) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if content_length and (body or method in ("POST", "PUT", "PATCH")):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def status_if_answered(sock: socket.socket, wait: float) -> int | None:
    """The status of a response that arrived on `sock` within `wait` s; None when none arrived (the
    request is still held), 0 when the connection was closed without one."""
    sock.settimeout(wait)
    try:
        data = sock.recv(4096)
    except socket.timeout:
        return None
    except OSError:
        return 0
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.") else 0


def recv_until(sock: socket.socket, marker: bytes, size: int = 4096) -> bytes:
    """Bytes from `sock` until `marker` has arrived or the peer closed (what arrived by then)."""
    data = b""
    while marker not in data:
        more = sock.recv(size)
        if not more:
            break
        data += more
    return data


def status_of(data: bytes) -> int:
    """The status code of a response that begins `data`; 0 when `data` holds no status line."""
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0


def read_status(sock: socket.socket) -> int:
    """Wait for the status line of the response on `sock`; its code, 0 if the connection closed first."""
    return status_of(recv_until(sock, b"\r\n"))
