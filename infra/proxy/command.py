"""`liveness-infra proxy render|serve`: the shipped nginx configuration, printed or run locally."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from components.proxy_config import render_nginx_config
from components.proxy_settings import ProxyConfigError, ProxySettings
from infra.cli_args import add_stack_argument
from infra.errors import UserError

SERVE_EPILOG = """\
Runs a real nginx in the foreground with exactly the configuration `proxy render` prints, except
for the listen addresses, the upstream address (--face-address replaces the private endpoint's
IP; SNI and the verified certificate name stay the account hostname, so the stand-in must present
a certificate for it; Host follows the stack's proxyUpstreamHost mode), the CA bundle trusted for
the upstream, and pid/temp paths (a private temporary directory, removed on exit).
The JSON access log goes to stdout, nginx's error log to stderr. Stop with Ctrl-C or SIGTERM.

example:
  liveness-infra proxy serve --stack dev --listen 127.0.0.1:8080 --health-listen 127.0.0.1:8081 \\
      --face-address 127.0.0.1:8443 --trusted-ca test-ca.pem
"""


def stack_proxy_settings(stack: str) -> ProxySettings:
    """ProxySettings of a stack, from the validated stack configuration (infra/config/loader.py)."""
    from infra.lifecycle.ephemeral import deployed_settings

    # pr-<N> stacks: the account actually deployed (its run's suffix), not the template's default.
    return deployed_settings(stack).proxy_settings()


def ensure_free(flag: str, address: str) -> None:
    """One clear line, before nginx starts, when a listen address is taken or not ours to bind.

    Otherwise nginx prints several `[emerg] bind() ... failed` lines and gives up.
    """
    import errno
    import socket

    from components.proxy_settings import split_host_port

    try:
        host, port = split_host_port(flag, address, allow_hostname=False)
    except ProxyConfigError as exc:
        raise UserError(str(exc)) from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx does: TIME_WAIT is not "busy"
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be bound ({exc.strerror})"
            raise UserError(f"{flag}: {address} {why}; expected a free HOST:PORT on this machine") from None


def run_render(args: argparse.Namespace) -> int:
    settings = stack_proxy_settings(args.stack)
    try:
        text = render_nginx_config(settings)
    except ProxyConfigError as exc:
        raise UserError(f"stack {args.stack!r}: proxy setting {exc}") from None
    sys.stdout.write(text)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from infra.proxy.runner import NginxFailed, ProxyProcess, ServeOptions

    settings = stack_proxy_settings(args.stack)
    options = ServeOptions(
        listen=args.listen or f"127.0.0.1:{settings.listen_port}",
        health_listen=args.health_listen or f"127.0.0.1:{settings.health_port}",
        face_address=args.face_address,
        trusted_ca=args.trusted_ca or settings.ca_bundle,
    )
    for flag, address in (("--listen", options.listen), ("--health-listen", options.health_listen)):
        ensure_free(flag, address)
    stop_signals: list[int] = []

    def request_stop(signum: int, _frame: object) -> None:
        stop_signals.append(signum)

    # stdout carries nginx's JSON access log (`proxy serve > access.log`, then `logs --file`);
    # every line of our own goes to stderr.
    proxy = ProxyProcess(settings, options, nginx=args.nginx)
    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            proxy.start()
        except NginxFailed as exc:
            print(f"liveness-infra proxy serve: error: {exc}", file=sys.stderr)
            return 1
        print(f"proxy (nginx pid {proxy.pid}) listening on http://{options.listen}, "
              f"health on http://{options.health_listen}/healthz", file=sys.stderr, flush=True)
        print(f"forwarding the liveness routes to https://{settings.face_host} "
              f"via {options.face_address}; Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
        process = proxy.process
        assert process is not None  # start() returned, so nginx was spawned
        while not stop_signals and process.poll() is None:
            time.sleep(0.1)
        if not stop_signals:
            print(f"liveness-infra proxy serve: error: nginx exited with code "
                  f"{process.returncode}", file=sys.stderr)
            return 1
        return 0
    finally:
        code = proxy.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if stop_signals:
            print(f"proxy stopped (nginx exit code {code})", file=sys.stderr, flush=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    proxy = subparsers.add_parser(
        "proxy",
        help="print or locally run the liveness reverse-proxy configuration",
        description="The nginx reverse proxy that forwards only the four Face liveness routes.",
    )
    sub = proxy.add_subparsers(dest="proxy_command", metavar="SUBCOMMAND")
    sub.required = True

    render = sub.add_parser(
        "render",
        help="print the exact nginx.conf that ships for a stack",
        description="Print the complete nginx.conf the proxy container runs for a stack.",
    )
    add_stack_argument(render)
    render.set_defaults(handler=run_render)

    serve = sub.add_parser(
        "serve",
        help="run the shipped configuration on a local nginx against a stand-in for Face",
        description="Run a real nginx in the foreground with the shipped proxy configuration.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_stack_argument(serve)
    serve.add_argument("--listen", metavar="HOST:PORT",
                       help="where clients connect (default 127.0.0.1:<listen port of the stack>)")
    serve.add_argument("--health-listen", metavar="HOST:PORT",
                       help="health endpoint address (default 127.0.0.1:<health port of the stack>)")
    serve.add_argument("--face-address", required=True, metavar="IP:PORT",
                       help="IP:PORT that replaces the private endpoint's address, e.g. "
                            "127.0.0.1:8443 (SNI stays the account hostname)")
    serve.add_argument("--trusted-ca", metavar="FILE",
                       help="PEM CA bundle that verifies the upstream certificate "
                            "(default: the stack's CA bundle path)")
    serve.add_argument("--nginx", metavar="PATH",
                       help="nginx binary (default: nginx on PATH, else /usr/sbin/nginx)")
    serve.set_defaults(handler=run_serve)
