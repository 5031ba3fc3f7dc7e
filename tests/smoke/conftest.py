"""Fixtures for `liveness-infra smoke` on loopback: test PKI, Face stand-in, real nginx proxy, TLS
front, redirector and a real Knot DNS server. Everything is stopped at the end of the session."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "proxy"))

from proxykit.harness import FACE_HOST, settings as proxy_settings  # noqa: E402
from proxykit.pki import TestCA  # noqa: E402
from proxykit.standin import FaceStandin  # noqa: E402

from infra import cli  # noqa: E402
from infra.proxy.runner import NGINX_FALLBACK_PATHS, ProxyProcess, ServeOptions  # noqa: E402
from tests.cli_result import CliResult  # noqa: E402
from tests.dns.knot import KnotServer, free_port, zone_text  # noqa: E402
from tests.required_tools import missing_tool  # noqa: E402
from tests.smoke.rig import Redirector, TlsFront, face_like, issue  # noqa: E402

LOOPBACK = "127.0.0.1"
DNS_ADDRESS = "127.0.0.30"
HOST = "liveness.smoke.test"
WRONG_CNAME_HOST = "wrongcname.smoke.test"
NO_ASUID_HOST = "noasuid.smoke.test"
INGRESS = "app-1.env.azurecontainerapps.test"
ASUID = "0F3E5D7C9B1A2F4E6D8C0B2A4F6E8D0C2B4A6F8E0D2C4B6A8F0E2D4C6B8A0F2E"
CODE = "azv-smoke-5c1e9a7b3d2f4e6a8c0b1d3f5a7c9e2b"
# The proxy tests' settings (every proxy setting the tests exercise), with browser preflight refused as the
# stacks' default is.
PROXY_SETTINGS = proxy_settings(allow_options=False, client_timeout_seconds=5, upstream_timeout_seconds=5)


@pytest.fixture(scope="session")
def tools() -> None:
    missing = [t for t, paths in (("nginx", NGINX_FALLBACK_PATHS), ("knotd", ("/usr/sbin/knotd",)))
               if not shutil.which(t) and not any(os.access(p, os.X_OK) for p in paths)]
    if missing:
        missing_tool(f"{', '.join(missing)} not installed (apt-get install nginx-light knot)")


@dataclass
class World:
    ca: TestCA
    good: tuple[str, str]
    wrong_name: tuple[str, str]
    expired: tuple[str, str]
    untrusted: tuple[str, str]
    standin: FaceStandin
    proxy: ProxyProcess
    proxy_port: int
    front: TlsFront
    redirector: Redirector
    dns_port: int

    def args(self, host: str = HOST, *extra: str) -> list[str]:
        """`smoke --url` arguments reaching this world (JSON output, few quick probes)."""
        return ["smoke", "--url", f"https://{host}", "--resolve", f"{host}:{LOOPBACK}:{self.front.port}",
                "--ca-file", str(self.ca.cert_path), "--nameserver", f"{DNS_ADDRESS}:{self.dns_port}",
                "--http-port", str(self.redirector.port), "--expect-target", INGRESS, "--probes", "5",
                "--timeout", "3", "--json", *extra]


def _zones() -> dict[str, str]:
    smoke = zone_text("smoke.test", 1, ["ns1"], f"""
        ns1 A {DNS_ADDRESS}
        liveness CNAME {INGRESS}.
        asuid.liveness TXT "{ASUID}"
        azaiverify.liveness TXT "{CODE}"
        wrongcname CNAME other-app.env.azurecontainerapps.test.
        asuid.wrongcname TXT "{ASUID}"
        noasuid CNAME {INGRESS}.
    """)
    ingress = zone_text("azurecontainerapps.test", 1, ["ns1"], f"""
        ns1 A {DNS_ADDRESS}
        app-1.env A 127.0.0.1
        other-app.env A 127.0.0.1
    """)
    return {"smoke.test": smoke, "azurecontainerapps.test": ingress}


@pytest.fixture(scope="session")
def world(tools, tmp_path_factory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("smoke-pki")
    ca, rogue = TestCA(directory, "smoke"), TestCA(directory, "smoke-rogue")
    names = [HOST, WRONG_CNAME_HOST, NO_ASUID_HOST]
    good = issue(ca, "ingress", names, days_after=365)
    wrong = issue(ca, "wrong-name", ["other.contoso.test"])
    expired = issue(ca, "expired", names, days_before=-30, days_after=-1)
    untrusted = issue(rogue, "untrusted", names)
    face = issue(ca, "face", [FACE_HOST])
    logs = tmp_path_factory.mktemp("smoke-logs")
    stack: list[Callable[[], object]] = []  # stop functions, run in reverse
    out, err = open(logs / "nginx.out", "wb"), open(logs / "nginx.err", "wb")
    try:
        standin = FaceStandin(LOOPBACK, 0, *face, respond=face_like()).start()
        stack.append(standin.stop)
        proxy_port = free_port([LOOPBACK])
        proxy = ProxyProcess(PROXY_SETTINGS, ServeOptions(
            listen=f"{LOOPBACK}:{proxy_port}", health_listen=f"{LOOPBACK}:{free_port([LOOPBACK])}",
            face_address=standin.address, trusted_ca=str(ca.cert_path)), stdout=out, stderr=err)
        proxy.start()
        stack.append(proxy.stop)
        front = TlsFront(LOOPBACK, *good, backend=(LOOPBACK, proxy_port)).start()
        stack.append(front.stop)
        redirector = Redirector(LOOPBACK).start()
        stack.append(redirector.stop)
        dns_port = free_port([DNS_ADDRESS])
        knot = KnotServer(tmp_path_factory.mktemp("smoke-knot"), "public", [DNS_ADDRESS], dns_port, _zones()).start()
        stack.append(knot.stop)
        yield World(ca, good, wrong, expired, untrusted, standin, proxy, proxy_port, front, redirector, dns_port)
    finally:
        for stop in reversed(stack):
            stop()
        out.close()
        err.close()


@pytest.fixture()
def smoke_world(world: World) -> Iterator[World]:
    """The world in its healthy state, restored after the test whatever it changed."""
    world.front.use(*world.good)
    world.front.backend, world.front.backend_tls = (LOOPBACK, world.proxy_port), None
    world.standin.respond = face_like()
    world.redirector.location_host = None
    try:
        yield world
    finally:
        world.front.use(*world.good)
        world.front.backend, world.front.backend_tls = (LOOPBACK, world.proxy_port), None
        world.standin.respond = face_like()
        world.redirector.location_host = None


class Result(CliResult):
    def checks(self, prefix: str) -> list[dict[str, Any]]:
        found = [c for c in self.data["checks"] if c["check"].startswith(prefix)]
        assert found, f"no check starting with {prefix!r} in {[c['check'] for c in self.data['checks']]}"
        return found

    def outcome(self, check: str) -> str:
        matches = [c for c in self.data["checks"] if c["check"] == check]
        assert len(matches) == 1, f"expected one {check!r} in {[c['check'] for c in self.data['checks']]}"
        return matches[0]["outcome"]


@pytest.fixture
def smoke(capsys):
    """Run `liveness-infra smoke ...` in-process through infra.cli's real dispatch."""

    def run(argv: list[str], **handler_options: Any) -> Result:
        capsys.readouterr()
        if handler_options:
            parser = cli.build_parser()
            args = parser.parse_args(argv)
            from infra.smoke import command as smoke_cmd
            try:
                code = smoke_cmd.run(args, **handler_options)
            except cli.UserError as exc:
                print(f"liveness-infra smoke: error: {exc}", file=sys.stderr)
                code = 2
        else:
            try:
                code = cli.main(argv)
            except SystemExit as exc:
                code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
