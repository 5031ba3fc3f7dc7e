"""A loopback-only authoritative DNS stub (dnspython) whose A answers tests can change live."""

from __future__ import annotations

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class DnsStub:
    def __init__(self, host: str = "127.0.0.1", ttl: int = 1):
        self.ttl = ttl
        self.records: dict[str, list[str]] = {}
        self.queries: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.host, self.port = self.sock.getsockname()
        self._thread = threading.Thread(target=self._loop, name="dns-stub", daemon=True)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def set_a(self, name: str, addresses: list[str]) -> None:
        with self._lock:
            self.records[name.lower().rstrip(".") + "."] = list(addresses)

    def start(self) -> "DnsStub":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def __enter__(self) -> "DnsStub":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            try:
                query = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 - garbage in, nothing out
                continue
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            question = query.question[0] if query.question else None
            if question is not None:
                name = question.name.to_text().lower()
                with self._lock:
                    self.queries.append(name)
                    addresses = self.records.get(name)
                if addresses is None:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                elif question.rdtype == dns.rdatatype.A:
                    response.answer.append(dns.rrset.from_text_list(
                        question.name, self.ttl, dns.rdataclass.IN, dns.rdatatype.A, addresses))
            self.sock.sendto(response.to_wire(), peer)
