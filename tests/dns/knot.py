"""A real Knot DNS server (knotd) on loopback addresses, with generated config and zone files.

Used by tests/dns only. Every server listens on 127.0.0.x (the loopback range) at a free port,
keeps its rundir, database and zones under a temporary directory, and is stopped by the
fixture that started it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import Mapping
from pathlib import Path

import dns.message
import dns.query

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


_HANDED_OUT: set[int] = set()


def free_port(addresses: list[str], attempts: int = 50) -> int:
    """A port the kernel hands out as free that is also free (UDP and TCP) on every address, and
    not one this process handed out before (two calls in a row can get the same port back)."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port in _HANDED_OUT:
            continue
        sockets = []
        try:
            for address in addresses:
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    sockets.append(s)
                    s.bind((address, port))
            _HANDED_OUT.add(port)
            return port
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no port free on all of {addresses} after {attempts} attempts")


def zone_text(origin: str, serial: int, ns: list[str], records: str, ttl: int = 60) -> str:
    """A zone file: SOA, NS records and the given records (relative names allowed)."""
    ns_lines = "\n".join(f"@ NS {n}" for n in ns)
    return (f"$ORIGIN {origin.rstrip('.')}.\n$TTL {ttl}\n"
            f"@ SOA {ns[0]} hostmaster {serial} 3600 600 86400 30\n{ns_lines}\n"
            + "\n".join(line.strip() for line in records.splitlines() if line.strip()) + "\n")


class KnotServer:
    """One knotd process serving `zones` ({origin: zone text or None for 'configured, no file'})."""

    def __init__(self, workdir: Path, name: str, addresses: list[str], port: int,
                 zones: Mapping[str, str | None]):
        self.knotd = shutil.which("knotd") or "/usr/sbin/knotd"
        self.knotc = shutil.which("knotc") or "/usr/sbin/knotc"
        self.dir = workdir / name
        self.addresses = addresses
        self.port = port
        self.zones: dict[str, str | None] = dict(zones)
        self.process: subprocess.Popen | None = None
        for sub in ("run", "db", "zones"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "knot.conf"
        self.log = self.dir / "knotd.log"

    def _write(self) -> None:
        listen = ", ".join(f"{a}@{self.port}" for a in self.addresses)
        zone_entries = "\n".join(f"  - domain: {origin}\n    file: {origin}.zone" for origin in self.zones)
        self.conf.write_text(
            f"server:\n    rundir: {self.dir / 'run'}\n    listen: [{listen}]\n"
            f"    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n"
            f"log:\n  - target: stderr\n    any: info\n"
            f"database:\n    storage: {self.dir / 'db'}\n"
            f"template:\n  - id: default\n    storage: {self.dir / 'zones'}\n    zonefile-sync: -1\n"
            f"    zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n"
            f"zone:\n{zone_entries}\n"
        )
        for origin, text in self.zones.items():
            path = self.dir / "zones" / f"{origin}.zone"
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text)

    def start(self) -> "KnotServer":
        self._write()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([self.knotd, "-c", str(self.conf)], stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        loaded = [o for o, t in self.zones.items() if t is not None]
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"knotd exited with {self.process.returncode}:\n{self.log.read_text()}")
            if all(self._serves(origin, self.addresses[0]) for origin in loaded) \
                    and all(self._serves(loaded[0], a) for a in self.addresses[1:]):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"knotd did not answer within {START_TIMEOUT}s:\n{self.log.read_text()}")

    def _serves(self, origin: str, address: str) -> bool:
        try:
            reply = dns.query.udp(dns.message.make_query(origin + ".", "SOA"), address,
                                  timeout=0.2, port=self.port)
        except Exception:  # noqa: BLE001 - not up yet
            return False
        return bool(reply.answer)

    def replace_zone(self, origin: str, text: str) -> None:
        """Rewrite a zone file and make knotd reload it (blocking until done)."""
        self.zones[origin] = text
        (self.dir / "zones" / f"{origin}.zone").write_text(text)
        subprocess.run([self.knotc, "-c", str(self.conf), "-b", "zone-reload", origin], check=True,
                       capture_output=True, timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)


class Blackhole:
    """A UDP socket that receives queries and never answers (no TCP listener at all)."""

    def __init__(self, address: str, port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.address, self.port = address, port

    def close(self) -> None:
        self.sock.close()
