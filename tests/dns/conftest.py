"""A small DNS world on loopback for `liveness-infra dns check|wait`, served by real Knot DNS.

Servers (all on one free port P):
  127.0.0.10  "parent": zone `test.` (delegations + glue) and `cognitiveservices.azure.com.`
  127.0.0.2   ns1: contoso.test, stale.test (current), lame.test, broken.test (configured, no
              file: SERVFAIL), partial.test, slow.test, pending.test
  127.0.0.3   ns2: contoso.test, stale.test (an old copy), partial.test
  127.0.0.4   ns2's process too, named as ns3.lame.test, which it does not serve: REFUSED
  127.0.0.5   a UDP socket that never answers (ns9.slow.test)
Only loopback addresses are ever queried: an autouse guard fails any test that tries otherwise.
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from infra.dns import command as dns_cmd
from infra.dns import probe as dns_probe
from infra.errors import UserError
from tests.cli_result import CliResult
from tests.dns.knot import Blackhole, KnotServer, free_port, zone_text
from tests.required_tools import missing_tool

PARENT, NS1, NS2, NS3, SILENT = "127.0.0.10", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
ASUID = "5E3B9F0A1C7D2E4F6A8B0C1D3E5F7A9B1C3D5E7F9A0B2C4D6E8F0A1B3C5D7E9F"
INGRESS = "app-123.env.azurecontainerapps.test"


@pytest.fixture(scope="session")
def knot_available() -> None:
    missing = [tool for tool in ("knotd", "knotc") if shutil.which(tool) is None
               and not Path(f"/usr/sbin/{tool}").exists()]
    if missing:
        missing_tool(f"Knot DNS not installed ({', '.join(missing)} missing): apt-get install knot")


@dataclass
class World:
    port: int
    code: str
    old_code: str
    parent: KnotServer
    ns1: KnotServer
    ns2: KnotServer
    pending_serial: int = 1

    def at(self, address: str) -> str:
        return f"{address}:{self.port}"

    def discovery(self, no_public: bool = True) -> list[str]:
        """Arguments that make discovery start at the loopback parent (and, by default, ask no
        public resolvers: the real defaults are never used in tests)."""
        return ["--resolver", self.at(PARENT), "--port", str(self.port), "--query-timeout", "1",
                *(["--no-public"] if no_public else [])]

    def set_pending(self, records: str) -> None:
        self.pending_serial += 1
        self.ns1.replace_zone("pending.test", zone_text("pending.test", self.pending_serial,
                                                        ["ns1"], "ns1 A 127.0.0.2\n" + records))


def _near(code: str, position: int) -> str:
    """The code with one character changed (at 0-based ``position``)."""
    swapped = "X" if code[position] != "X" else "Y"
    return code[:position] + swapped + code[position + 1:]


def _contoso(code: str, old_code: str) -> str:
    filler = "\n".join(f'azaiverify.big TXT "filler-{i:02d}-{"f" * 110}"' for i in range(12))
    return zone_text("contoso.test", 1, ["ns1", "ns2"], f"""
        ns1 A {NS1}
        ns2 A {NS2}
        ok CNAME {INGRESS}.
        azaiverify.ok TXT "{code}"
        asuid.ok TXT "{ASUID}"
        split CNAME {INGRESS}.
        azaiverify.split TXT "{code[:13]}" "{code[13:]}"
        wrong CNAME {INGRESS}.
        azaiverify.wrong TXT "{_near(code, 16)}"
        quoted CNAME {INGRESS}.
        azaiverify.quoted TXT "\\"{code}\\""
        spaces CNAME {INGRESS}.
        azaiverify.spaces TXT "{code}  "
        missing CNAME {INGRESS}.
        nodata CNAME {INGRESS}.
        azaiverify.nodata A 127.0.0.95
        extra CNAME {INGRESS}.
        azaiverify.extra TXT "{code}"
        azaiverify.extra TXT "{old_code}"
        big CNAME {INGRESS}.
        azaiverify.big TXT "{code}"
        {filler}
        arec A 127.0.0.97
        azaiverify.arec TXT "{code}"
        cnamed CNAME {INGRESS}.
        azaiverify.cnamed CNAME verify-target
        verify-target TXT "{code}"
        elsewhere CNAME wrong-app.env.azurecontainerapps.test.
        azaiverify.elsewhere TXT "{code}"
    """)


def _caa_records(code: str) -> str:
    """caa.test: CAA at the apex allows only Let's Encrypt; closer sets override it."""
    hosts = ("blocked", "allowed.sub", "wild", "crit.crit", "alias", "nobody.none", "params")
    # CAA cannot sit beside a CNAME: hosts that carry their own CAA get an A record instead.
    target = {h: "A 127.0.0.96" for h in ("wild", "params")}
    lines = [f"{h} {target.get(h, f'CNAME {INGRESS}.')}\nazaiverify.{h} TXT \"{code}\""
             for h in hosts if h != "alias"]
    return "\n".join([
        '@ CAA 0 issue "letsencrypt.org"',
        '@ CAA 0 iodef "mailto:security@caa.test"',
        'sub CAA 0 issue "digicert.com"',
        'wild CAA 0 issuewild "letsencrypt.org"',
        'crit CAA 128 tbs "unknown"',
        'crit CAA 0 issue "digicert.com"',
        'none CAA 0 issue ";"',
        'params CAA 0 issue "digicert.com; account=12345"',
        "alias CNAME caa-target.caa-elsewhere.test.",
        f'azaiverify.alias TXT "{code}"',
        *lines,
    ])


@pytest.fixture(scope="session")
def world(knot_available, tmp_path_factory) -> Iterator[World]:
    code = "azv-" + secrets.token_hex(16)
    old_code = "azv-" + secrets.token_hex(16)
    workdir = tmp_path_factory.mktemp("knot")
    port = free_port([PARENT, NS1, NS2, NS3, SILENT])

    def glue(zone: str, servers: dict[str, str]) -> str:
        return "\n".join(f"{zone} NS {name}.{zone}\n{name}.{zone} A {address}" for name, address in servers.items())

    parent_zone = zone_text("test", 1, ["ns.test."], "\n".join([
        f"ns A {PARENT}",
        glue("contoso", {"ns1": NS1, "ns2": NS2}),
        glue("stale", {"ns1": NS1, "ns2": NS2}),
        glue("lame", {"ns1": NS1, "ns3": NS3}),
        glue("broken", {"ns1": NS1}),
        glue("partial", {"ns1": NS1}),
        glue("slow", {"ns1": NS1, "ns9": SILENT}),
        glue("pending", {"ns1": NS1}),
        glue("caa", {"ns1": NS1}),
        "app-123.env.azurecontainerapps A 127.0.0.99",
        "westeurope.prod.cognitive A 127.0.0.98",
        'caa-target.caa-elsewhere CAA 0 issue "digicert.com"',
    ]))
    cognitive_zone = zone_text("cognitiveservices.azure.com", 1, ["ns.test."], """
        fl-dev-face CNAME fl-dev-face.privatelink
        fl-dev-face.privatelink CNAME westeurope.prod.cognitive.test.
        public-face CNAME westeurope.prod.cognitive.test.
    """)

    def simple(zone: str, serial: int, ns: dict[str, str], records: str) -> str:
        addresses = "\n".join(f"{name} A {address}" for name, address in ns.items())
        return zone_text(zone, serial, list(ns), addresses + "\n" + records)

    ns1_zones: dict[str, str | None] = {
        "contoso.test": _contoso(code, old_code),
        "stale.test": simple("stale.test", 2, {"ns1": NS1, "ns2": NS2},
                             f'liveness A 127.0.0.96\nazaiverify.liveness TXT "{code}"'),
        "lame.test": simple("lame.test", 1, {"ns1": NS1, "ns3": NS3},
                            f'liveness A 127.0.0.96\nazaiverify.liveness TXT "{code}"'),
        "broken.test": None,
        "partial.test": simple("partial.test", 1, {"ns1": NS1, "ns2": NS2},
                               f'liveness A 127.0.0.96\nazaiverify.liveness TXT "{code}"'),
        "slow.test": simple("slow.test", 1, {"ns1": NS1, "ns9": SILENT},
                            f'liveness A 127.0.0.96\nazaiverify.liveness TXT "{code}"'),
        "pending.test": simple("pending.test", 1, {"ns1": NS1}, "liveness A 127.0.0.96"),
        "caa.test": simple("caa.test", 1, {"ns1": NS1}, _caa_records(code)),
    }
    ns2_zones: dict[str, str | None] = {
        "contoso.test": _contoso(code, old_code),
        "stale.test": simple("stale.test", 1, {"ns1": NS1, "ns2": NS2},
                             f'liveness A 127.0.0.96\nazaiverify.liveness TXT "{old_code}"'),
        "partial.test": ns1_zones["partial.test"],
    }
    servers: list[KnotServer] = []
    silent = Blackhole(SILENT, port)
    try:
        parent = KnotServer(workdir, "parent", [PARENT], port,
                            {"test": parent_zone, "cognitiveservices.azure.com": cognitive_zone})
        servers.append(parent.start())
        ns1 = KnotServer(workdir, "ns1", [NS1], port, ns1_zones)
        servers.append(ns1.start())
        ns2 = KnotServer(workdir, "ns2", [NS2, NS3], port, ns2_zones)
        servers.append(ns2.start())
        yield World(port=port, code=code, old_code=old_code, parent=parent, ns1=ns1, ns2=ns2)
    finally:
        for server in servers:
            server.stop()
        silent.close()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail any test that would send a DNS query anywhere but loopback."""
    real_query = dns_probe.query

    def guarded(server, *args, **kwargs):
        if not ipaddress.ip_address(server.address).is_loopback:
            raise AssertionError(f"test tried to query {server.address}: only loopback is allowed")
        return real_query(server, *args, **kwargs)

    monkeypatch.setattr(dns_probe, "query", guarded)
    monkeypatch.setattr(dns_cmd, "DEFAULT_PUBLIC_RESOLVERS", ())
    monkeypatch.setattr(dns_cmd, "system_resolvers", lambda: [])
    monkeypatch.delenv(dns_cmd.CODE_ENV, raising=False)


class DnsResult(CliResult):
    def server(self, address: str) -> dict[str, Any]:
        matches = [s for s in self.data["servers"] if s["address"] == address]
        assert len(matches) == 1, f"expected one entry for {address} in {self.data['servers']}"
        return matches[0]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liveness-infra")
    sub = parser.add_subparsers(dest="command")
    dns_cmd.register(sub)
    return parser


@pytest.fixture
def cli(capsys):
    """Run `liveness-infra dns ...` in-process exactly as infra.cli.main dispatches it."""

    def run(*argv: str) -> DnsResult:
        capsys.readouterr()
        try:
            args = _parser().parse_args(list(argv))
            code = int(args.handler(args) or 0)
        except UserError as exc:
            print(f"liveness-infra dns: error: {exc}", file=__import__("sys").stderr)
            code = 2
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return DnsResult(code, captured.out, captured.err)

    return run
