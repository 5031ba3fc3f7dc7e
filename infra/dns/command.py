"""`liveness-infra dns check|wait`: is the azaiverify record live where Microsoft will look?

The runbook is docs/dns-verification.md. Queries: :mod:`infra.dns.probe`; meaning and exit
codes: :mod:`infra.dns.verdicts`; output: :mod:`infra.dns.report`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from infra.dns import support
from infra.dns.report import progress_line, render_json, render_text
from infra.dns.model import EXIT_OK, normalize_name, redact, Role, Server, validate_hostname
from infra.dns.verdicts import parse_issued_at, parse_server, window_finding
from infra.cli_args import add_json_argument, add_stack_argument, add_template_argument, seconds
from infra.errors import UserError, shorten
from infra.stack_outputs import read_outputs
from infra.stackfiles.files import read_stack_config
from infra.dns import check as check_round
from infra.dns.check import DEFAULT_QUERY_TIMEOUT, CheckOptions


CODE_ENV = "LIVENESS_VERIFICATION_CODE"
DEFAULT_PUBLIC_RESOLVERS = ("1.1.1.1", "8.8.8.8", "9.9.9.9", "208.67.222.222")
MAX_QUERY_TIMEOUT = 30.0
DEFAULT_WAIT_TIMEOUT = 1800.0
MAX_WAIT_TIMEOUT = 48 * 3600.0
DEFAULT_INTERVAL = 30.0
ISSUED_AT_SKEW = timedelta(minutes=5)  # clock skew tolerated before an issue time counts as future


def register(subparsers: argparse._SubParsersAction) -> None:
    """`dns check|wait` and `support-request`: the two halves of registering the proxy host."""
    _register_dns(subparsers)
    _register_support_request(subparsers)


def _register_dns(subparsers: argparse._SubParsersAction) -> None:
    dns = subparsers.add_parser(
        "dns",
        help="check that the azaiverify TXT record is live on every server Microsoft may ask",
        description="Domain verification for Microsoft's step 2: check or wait until the azaiverify "
                    "TXT record serves the verification code on every authoritative server and public "
                    "resolver. Runbook: docs/dns-verification.md.",
    )
    actions = dns.add_subparsers(dest="dns_command", metavar="ACTION")
    actions.required = True
    check = actions.add_parser(
        "check", help="query every server once and report what each serves",
        description="Query every authoritative server of the proxy host's zone (or exactly the "
                    "--nameserver ones) and the public resolvers once. Exit 0: every server serves "
                    "the code exactly; 1: any serves something else or nothing; 3: no wrong answer, "
                    "but some server could not be reached.",
    )
    _add_common(check)
    check.set_defaults(handler=run_check)
    wait = actions.add_parser(
        "wait", help="poll until every server serves the code, or --timeout passes",
        description="Repeat `dns check` every --interval seconds until every server serves the code "
                    "(exit 0) or --timeout passes (exit of the last round: 1 or 3). Shows which servers "
                    "agree and the time left.",
    )
    _add_common(wait)
    wait.add_argument("--timeout", type=seconds("--timeout", 1.0, MAX_WAIT_TIMEOUT), default=DEFAULT_WAIT_TIMEOUT,
                      metavar="SECONDS", help=f"give up after this long (default {DEFAULT_WAIT_TIMEOUT:g}, "
                                              f"at most 48 h)")
    wait.add_argument("--interval", type=seconds("--interval", 0.1, 3600.0), default=DEFAULT_INTERVAL,
                      metavar="SECONDS", help=f"pause between rounds (default {DEFAULT_INTERVAL:g})")
    wait.set_defaults(handler=run_wait)


def _register_support_request(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "support-request",
        help="print the filled-in Azure support ticket that registers the proxy with Microsoft",
        description="Print the support request of Microsoft's step 1 (register the reverse proxy for "
                    "Face liveness with network isolation): the portal fields, the description with proxy "
                    "hostname, resource id, region and routes, and the prerequisites checklist. Reads "
                    "stacks/Pulumi.<stack>.yaml; needs no credentials.",
    )
    add_stack_argument(p)
    add_template_argument(p)
    p.add_argument("--subscription-id", metavar="GUID",
                   help="subscription of the account; default from `az account show` when the Azure CLI is "
                        "signed in, else a <subscription-id> placeholder")
    p.add_argument("--justification", metavar="TEXT",
                   help="why the account must stay private (policy or compliance standard), for the description")
    p.set_defaults(handler=run_support_request)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"received {shorten(text)}; expected a port 1-65535")
    return int(text)


def _add_common(p: argparse.ArgumentParser) -> None:
    what = p.add_argument_group("what to check")
    add_stack_argument(what, required=False,
                       reads="its deployed outputs (host, code, expected targets; needs the Pulumi CLI); "
                             "the flags below override them")
    what.add_argument("--host", metavar="PROXY_HOST", help="public hostname of the proxy, e.g. liveness.contoso.com")
    code = what.add_mutually_exclusive_group()
    code.add_argument("--verification-code", metavar="CODE",
                      help="the code from Microsoft support (visible in shell history and ps: prefer the "
                           f"next option or the {CODE_ENV} environment variable)")
    code.add_argument("--verification-code-file", metavar="FILE",
                      help="read the code from FILE, or from standard input with '-'")
    what.add_argument("--issued-at", metavar="ISO8601",
                      help="when support issued the code (UTC), for the 48-hour window warning; default "
                           "from the stack's liveness:verificationCodeIssuedAt")
    what.add_argument("--expect-target", metavar="FQDN_OR_IP",
                      help="where the proxy host's CNAME (or A) must point; default the stack's ingressFqdn")
    what.add_argument("--asuid", metavar="VALUE",
                      help="expected asuid.<host> TXT value; default the stack's customDomainVerificationId "
                           "(without either, only its presence is checked)")
    what.add_argument("--face-host", metavar="HOST",
                      help="Face account hostname to check resolves through privatelink (default the "
                           "stack's faceEndpointHost)")
    where = p.add_argument_group("which servers")
    where.add_argument("--nameserver", action="append", default=[], metavar="IP[:PORT]",
                       help="ask exactly these servers (repeatable; [IPv6]:PORT); skips discovery and "
                            "public resolvers")
    where.add_argument("--resolver", action="append", default=[], metavar="IP[:PORT]",
                       help="resolver used to discover the zone and its name servers (SOA/NS/A lookups, "
                            "walking up the name) and to follow CNAMEs; default the system resolvers "
                            "from /etc/resolv.conf")
    where.add_argument("--port", type=_port, default=53,
                       help="port of the authoritative servers found by discovery (default 53; for test servers)")
    where.add_argument("--ipv6", action="store_true",
                       help="also ask discovered name servers over their IPv6 (AAAA) addresses")
    public = where.add_mutually_exclusive_group()
    public.add_argument("--public-resolver", action="append", default=None, metavar="IP[:PORT]",
                        help="public resolver to ask as well (repeatable; default "
                             f"{', '.join(DEFAULT_PUBLIC_RESOLVERS)})")
    public.add_argument("--no-public", action="store_true", help="do not ask public resolvers")
    where.add_argument("--query-timeout", type=seconds("--query-timeout", 0.05, MAX_QUERY_TIMEOUT),
                       default=DEFAULT_QUERY_TIMEOUT, metavar="SECONDS",
                       help=f"per-query timeout, UDP and the TCP retry each (default {DEFAULT_QUERY_TIMEOUT:g})")
    add_json_argument(p)


def deployed_outputs(stack: str) -> dict[str, Any]:
    """The stack's outputs (infra/stack_outputs.py: Pulumi's Automation API; needs the CLI logged in)."""
    return read_outputs(stack, f"pass --host and --verification-code-file (or {CODE_ENV})")


def _read_code(args: argparse.Namespace, outputs: dict[str, Any]) -> str:
    if args.verification_code is not None:
        print("liveness-infra dns: warning: --verification-code leaves the secret in shell history and the "
              f"process list; prefer --verification-code-file or {CODE_ENV}", file=sys.stderr)
        code, source = args.verification_code, "--verification-code"
    elif args.verification_code_file is not None:
        source = "--verification-code-file"
        if args.verification_code_file == "-":
            code = sys.stdin.read()
        else:
            try:
                code = Path(args.verification_code_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UserError(f"--verification-code-file: cannot read {args.verification_code_file!r}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
    elif os.environ.get(CODE_ENV):
        code, source = os.environ[CODE_ENV], CODE_ENV
    elif outputs.get("verificationCode"):
        code, source = str(outputs["verificationCode"]), "stack output verificationCode"
    else:
        raise UserError("--verification-code: no verification code given; expected --verification-code-file "
                        f"FILE (or - for stdin), the {CODE_ENV} environment variable, or --stack with a stack "
                        "whose liveness:verificationCode is set")
    code = code.strip()
    if not code:
        raise UserError(f"{source}: received an empty verification code; expected the string from Microsoft support")
    if any(ord(c) < 32 or ord(c) == 127 for c in code):
        raise UserError(f"{source}: received a code with control characters or several lines "
                        f"({redact(code)}); expected the single string from Microsoft support")
    return code


def _servers(specs: Sequence[str], flag: str, role: Role) -> list[Server]:
    out: list[Server] = []
    for spec in specs:
        try:
            server = parse_server(spec, flag, role)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if server not in out:
            out.append(server)
    return out


def system_resolvers() -> list[Server]:
    """Name servers from /etc/resolv.conf (read only; nothing is queried here)."""
    import dns.resolver

    try:
        found = dns.resolver.Resolver(configure=True).nameservers
    except Exception:  # noqa: BLE001 - any failure means "no system resolver"
        found = []
    servers = []
    for address in found:
        try:
            servers.append(parse_server(str(address), "resolv.conf", Role.PUBLIC))
        except ValueError:
            continue
    return servers


def build_options(args: argparse.Namespace) -> CheckOptions:
    outputs = deployed_outputs(args.stack) if args.stack else {}
    host = args.host or outputs.get("proxyHost")
    if not host:
        raise UserError("--host: no proxy host given; expected --host liveness.contoso.com or --stack NAME "
                        "whose proxyHost output is set")
    problem = validate_hostname(str(host), "--host" if args.host else "stack output proxyHost")
    if problem:
        raise UserError(problem)
    code = _read_code(args, outputs)

    issued_text = args.issued_at or outputs.get("verificationCodeIssuedAt")
    issued_source = "--issued-at" if args.issued_at else "stack output verificationCodeIssuedAt"
    if not issued_text and args.stack:
        try:
            issued_text = read_stack_config(args.stack).get("liveness:verificationCodeIssuedAt")
            if issued_text is not None and issued_text.strip() in ("", "null"):
                issued_text = None  # `~`, `null` or empty in the stack file: unset, as for the program
            issued_source = "config key 'liveness:verificationCodeIssuedAt'"
        except UserError:
            issued_text = None
    issued_at = None
    if issued_text:
        try:
            issued_at = parse_issued_at(str(issued_text))
        except ValueError as exc:
            raise UserError(f"{issued_source}: {exc}") from None
        if issued_at > datetime.now(timezone.utc) + ISSUED_AT_SKEW:
            raise UserError(f"{issued_source}: received {shorten(str(issued_text))}, which is in the future; expected "
                            "when support issued the code (UTC), e.g. 2026-11-20T09:30:00Z")

    face_host = args.face_host or outputs.get("faceEndpointHost")
    if face_host:
        face_host = normalize_name(str(face_host).removeprefix("https://").split("/")[0])
        problem = validate_hostname(face_host, "--face-host")
        if problem:
            raise UserError(problem)

    nameservers = _servers(args.nameserver, "--nameserver", Role.NAMESERVER)
    resolvers = _servers(args.resolver, "--resolver", Role.PUBLIC)
    if not resolvers and (not nameservers or face_host):
        resolvers = system_resolvers()
        if not resolvers:
            raise UserError("--resolver: no resolver given and none found in /etc/resolv.conf; expected "
                            "--resolver IP[:PORT] (or --nameserver to skip discovery)")
    public: list[Server] = []
    if not nameservers and not args.no_public:
        specs = args.public_resolver if args.public_resolver is not None else list(DEFAULT_PUBLIC_RESOLVERS)
        public = _servers(specs, "--public-resolver", Role.PUBLIC)
    return CheckOptions(
        host=normalize_name(str(host)), code=code, nameservers=nameservers, resolvers=resolvers,
        public=public, port=args.port, timeout=args.query_timeout, ipv6=args.ipv6,
        expect_target=args.expect_target or outputs.get("ingressFqdn"),
        asuid=args.asuid or outputs.get("customDomainVerificationId"),
        face_host=face_host, issued_at=issued_at,
    )


def run_check(args: argparse.Namespace) -> int:
    opts = build_options(args)
    report, notes = check_round.run_check(opts)
    print(render_json(report, notes) if args.json else render_text(report, notes))
    return report.exit_code


def run_wait(args: argparse.Namespace, sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> int:
    opts = build_options(args)
    progress = sys.stderr if args.json else sys.stdout
    started = clock()
    deadline = started + args.timeout
    if opts.issued_at is not None:
        window = window_finding(opts.issued_at, datetime.now(timezone.utc))
        print(f"{window.level.value}: {window.check}: {window.message}", file=progress, flush=True)
    rounds = 0
    while True:
        rounds += 1
        report, notes = check_round.run_check(opts)
        now = clock()
        left = deadline - now
        print(progress_line(report, now - started, left), file=progress, flush=True)
        if report.exit_code == EXIT_OK or report.window_closed or left <= 0:
            break
        sleep(min(args.interval, left))
    timed_out = report.exit_code != EXIT_OK
    if args.json:
        print(render_json(report, notes, rounds=rounds, timed_out=timed_out,
                          waited_seconds=round(clock() - started, 1)))
    else:
        print(render_text(report, notes))
        if report.window_closed:
            print("stopped: the 48-hour window is closed, waiting cannot help; ask support for a new code")
        elif timed_out:
            print(f"gave up after {args.timeout:g}s and {rounds} rounds")
        else:
            print(f"live after {rounds} round(s): tell Microsoft support the record is in place")
    return report.exit_code



def run_support_request(args: argparse.Namespace, az: Callable[[], str | None] = support.az_subscription) -> int:
    from infra.lifecycle.ephemeral import deployed_settings

    given = args.subscription_id
    subscription = support.checked_subscription_id(given) if given is not None else az()
    facts = support.facts_from_settings(deployed_settings(args.stack, args.template))
    print(support.render_ticket(facts, subscription, args.justification))
    for note in support.checklist_notes(facts, subscription):
        print(f"note: {note}", file=sys.stderr)
    return 0
