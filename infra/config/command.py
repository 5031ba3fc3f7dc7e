"""`liveness-infra config`: validate a stack's configuration and print the config reference."""

from __future__ import annotations

import argparse

from infra.cli_args import add_stack_argument, add_template_argument
from infra.config.loader import load_stack_settings
from infra.config.schema import render_reference_table


def run_check(args: argparse.Namespace) -> int:
    settings = load_stack_settings(args.stack, template=args.template)
    print(f"stack {settings.stack}: configuration valid")
    print(f"  lifecycle      {settings.lifecycle}{' (protected)' if settings.protect else ''}")
    print(f"  location       {settings.location}")
    print(f"  proxy host     {settings.proxy.host}")
    print(f"  face account   {settings.face.account_name} ({settings.face.kind}), endpoint {settings.face.endpoint_host}")
    print(f"  private DNS    {settings.face.private_dns_mode}; public DNS {settings.dns.mode}")
    print(f"  registration   {settings.registration.state}")
    return 0


def run_docs(_args: argparse.Namespace) -> int:
    print(render_reference_table(), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="validate stack configuration; print the config reference",
                                   description="Validate stack configuration offline, or print the config reference.")
    sub = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    sub.required = True
    check = sub.add_parser("check", help="validate stacks/Pulumi.<stack>.yaml (no credentials)",
                           description="Validate a stack's configuration file offline; exit 2 with the key at fault.")
    add_stack_argument(check)
    add_template_argument(check)
    check.set_defaults(handler=run_check)
    docs = sub.add_parser("docs", help="print the config reference table (Markdown) docs/configuration.md embeds",
                          description="Print the Markdown config reference generated from infra/config/schema.py.")
    docs.set_defaults(handler=run_docs)
