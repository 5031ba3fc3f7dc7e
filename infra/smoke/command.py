"""`liveness-infra smoke`: Microsoft's Step 4 from outside, in one command.

Arguments and where the expected values come from (``--stack``: the stack file and the stack's
outputs through Pulumi's Automation API; ``--url``: only what the flags say). The checks are in
:mod:`infra.smoke.run`; output in :mod:`infra.smoke.report`.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any, Callable
from urllib.parse import urlsplit

from components.proxy_routes import VERSION_PATTERN
from infra.dns.model import normalize_name, Role, Server, validate_hostname
from infra.dns.verdicts import parse_server
from infra.cli_args import add_json_argument, add_stack_argument, seconds
from infra.errors import UserError
from infra.stack_outputs import read_outputs
from infra.smoke.model import exit_code
from infra.smoke.report import render_json, render_text
from infra.smoke.run import DEFAULT_API_VERSION, SESSION_API_VERSION, SmokeTarget, run_checks
from infra.smoke.probe import Endpoint

MAX_PROBES = 100
MAX_TIMEOUT = 60.0

EPILOG = """\
exit codes: 0 every check passed; 1 a check failed (each failure says its fix); 2 usage error;
3 nothing failed but the host or the DNS servers could not be reached.

examples:
  liveness-infra smoke --stack prod
  liveness-infra smoke --url https://liveness.contoso.com --expect-target app.env.westeurope.azurecontainerapps.io
  liveness-infra smoke --url https://liveness.test --resolve liveness.test:127.0.0.1:8443 \\
      --ca-file test-ca.pem --nameserver 127.0.0.30:5353 --http-port 8080
"""

# stack -> outputs (plain values; secrets included, never printed). Tests inject a fake.
OutputsReader = Callable[[str], dict[str, Any]]


def deployed_outputs(stack: str) -> dict[str, Any]:
    """The stack's outputs (infra/stack_outputs.py: Pulumi's Automation API; needs the CLI logged in)."""
    return read_outputs(stack, "use --url with --expect-target")


def _positive_int(flag: str, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or not 1 <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{flag}: received {text!r}; expected an integer from 1 to {high}")
        return int(text)
    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "smoke", help="check the deployed proxy end to end: DNS, certificate, redirect, routes, latency",
        description="Microsoft's Step 4 from outside: public DNS, the certificate, http->https, a refused route, "
                    "the four liveness routes reaching Face, OPTIONS, latency; with --session a real session.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    add_stack_argument(what, required=False, reads="its deployed outputs (host and expectations)")
    what.add_argument("--url", metavar="https://HOST", help="check this proxy URL without a stack")
    p.add_argument("--resolve", metavar="HOST:ADDR[:PORT]",
                   help="connect to ADDR (port PORT, default 443) for HOST; SNI and Host stay HOST")
    p.add_argument("--ca-file", metavar="FILE", help="PEM CA bundle to verify the certificate (default: system store)")
    p.add_argument("--nameserver", action="append", default=[], metavar="IP[:PORT]",
                   help="DNS server to ask (repeatable; default: this machine's resolvers)")
    p.add_argument("--expect-target", metavar="FQDN", help="ingress FQDN the host's CNAME must reach (default: stack output ingressFqdn)")
    p.add_argument("--preflight", choices=("allowed", "refused"),
                   help="expected OPTIONS behaviour (default: the stack's proxyAllowBrowserPreflight)")
    p.add_argument("--api-version", default=DEFAULT_API_VERSION, metavar="VERSION",
                   help=f"Face API version in the probed routes (default {DEFAULT_API_VERSION})")
    p.add_argument("--probes", type=_positive_int("--probes", MAX_PROBES), default=10, metavar="N",
                   help=f"latency probes, 1-{MAX_PROBES} (default 10)")
    p.add_argument("--timeout", type=seconds("--timeout", 0.1, MAX_TIMEOUT), default=10.0, metavar="SECONDS",
                   help="per connection and request (default 10)")
    p.add_argument("--http-port", type=_positive_int("--http-port", 65535), default=80, metavar="PORT",
                   help="port of the plain-HTTP redirect check (default 80; for local runs)")
    p.add_argument("--session", action="store_true",
                   help="also create a real liveness session (DefaultAzureCredential, private path), start it "
                        "through the proxy and delete it")
    p.add_argument("--session-api-version", default=SESSION_API_VERSION, metavar="VERSION",
                   help=f"Face API version of the --session session and its session/start (default "
                        f"{SESSION_API_VERSION}: what the installed Face SDK implements)")
    p.add_argument("--face-endpoint", metavar="https://ACCOUNT.cognitiveservices.azure.com",
                   help="the account endpoint for --session (default: stack output faceEndpointHost)")
    add_json_argument(p)
    p.set_defaults(handler=run)


def _url(text: str) -> tuple[str, int]:
    parts = urlsplit(text.strip())
    if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise UserError(f"--url: received {text[:80]!r}; expected https://HOST (no path), e.g. https://liveness.contoso.com")
    try:
        port = parts.port or 443
    except ValueError:
        raise UserError(f"--url: received {text[:80]!r}; the port must be 1-65535") from None
    return _host(parts.hostname, "--url"), port


def _host(value: str, flag: str) -> str:
    problem = validate_hostname(value, flag)
    if problem:
        raise UserError(problem)
    return normalize_name(value)


def _resolve(spec: str, host: str) -> tuple[str, int | None]:
    name, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise UserError(f"--resolve: received {spec[:80]!r}; expected HOST:ADDR[:PORT], e.g. {host}:127.0.0.1:8443")
    if normalize_name(name) != host:
        raise UserError(f"--resolve: received host {name!r}; expected the checked host {host}")
    try:
        server = parse_server(rest, "--resolve", Role.NAMESERVER, default_port=0)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return server.address, server.port or None


def _nameservers(specs: list[str]) -> list[Server]:
    if not specs:
        from infra.dns.command import system_resolvers

        return system_resolvers()
    try:
        return [parse_server(s, "--nameserver", Role.NAMESERVER) for s in specs]
    except ValueError as exc:
        raise UserError(str(exc)) from None


def build_target(args: argparse.Namespace, outputs_reader: OutputsReader = deployed_outputs) -> SmokeTarget:
    outputs: dict[str, Any] = {}
    state = code = allow = None
    if args.stack:
        from infra.config.loader import load_stack_settings

        settings = load_stack_settings(args.stack)
        outputs = outputs_reader(args.stack)
        host, port = _host(str(outputs.get("proxyHost") or settings.proxy.host), "stack output proxyHost"), 443
        allow = settings.proxy.allow_browser_preflight
        state = str(outputs.get("registrationState") or settings.registration.state)
        code = outputs.get("verificationCode")
    else:
        host, port = _url(args.url)
    if args.preflight:
        allow = args.preflight == "allowed"
    address, url_port = None, port
    if args.resolve:
        address, resolve_port = _resolve(args.resolve, host)
        port = resolve_port or port
    if args.ca_file:
        try:
            with open(args.ca_file, "rb") as handle:
                if b"-----BEGIN CERTIFICATE-----" not in handle.read():
                    raise UserError(f"--ca-file: {args.ca_file!r} holds no PEM certificate; expected a PEM CA bundle")
        except OSError as exc:
            raise UserError(f"--ca-file: cannot read {args.ca_file!r} ({exc.strerror}); expected a PEM CA bundle") from None
    face = args.face_endpoint or (f"https://{outputs['faceEndpointHost']}" if outputs.get("faceEndpointHost") else None)
    if face and not face.startswith("https://"):
        face = f"https://{face}"
    if args.session and not face:
        raise UserError("--session: the Face account endpoint is unknown; expected --stack with a faceEndpointHost "
                        "output or --face-endpoint https://ACCOUNT.cognitiveservices.azure.com")
    expect = args.expect_target or outputs.get("ingressFqdn")
    return SmokeTarget(
        endpoint=Endpoint(host=host, address=address, port=port, http_port=args.http_port, ca_file=args.ca_file,
                          timeout=args.timeout),
        nameservers=_nameservers(args.nameserver), dns_timeout=min(args.timeout, 5.0),
        ingress_fqdn=_host(str(expect), "--expect-target") if expect else None,
        asuid=outputs.get("customDomainVerificationId"), registration_state=state,
        verification_code=str(code) if code else None, allow_preflight=allow, api_version=args.api_version,
        probes=args.probes, face_endpoint=face, session=args.session, session_api_version=args.session_api_version,
        url=f"https://{host}" + ("" if url_port == 443 else f":{url_port}"))


def run(args: argparse.Namespace, outputs_reader: OutputsReader = deployed_outputs, **run_options: Any) -> int:
    for flag, value in (("--api-version", args.api_version), ("--session-api-version", args.session_api_version)):
        if not re.fullmatch(VERSION_PATTERN, value):
            raise UserError(f"{flag}: received {value[:40]!r}; expected a version like v1.2 or v1.2-preview.1")
    target = build_target(args, outputs_reader)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    verdicts = run_checks(target, progress, **run_options)
    code = exit_code(verdicts)
    sys.stdout.write(render_json(target, verdicts, code) if args.json else render_text(target, verdicts, code))
    return code
