"""`liveness-infra config`: validate a stack's configuration and print the config reference."""

from __future__ import annotations

import argparse

from infra.config.loader import load_stack_settings
from infra.config.schema import render_reference_table


def _check(args: argparse.Namespace) -> int:
    settings = load_stack_settings(args.stack, template=args.template)
    print(f"stack {settings.stack}: configuration valid")
    print(f"  lifecycle      {settings.lifecycle}{' (protected)' if settings.protect else ''}")
    print(f"  location       {settings.location}")
    print(f"  proxy host     {settings.proxy.host}")
    print(f"  face account   {settings.face.account_name} ({settings.face.kind}), endpoint {settings.face.endpoint_host}")
    print(f"  private DNS    {settings.face.private_dns_mode}; public DNS {settings.dns.mode}")
    print(f"  registration   {settings.registration.state}")
    return 0


def _docs(_args: argparse.Namespace) -> int:
    print(render_reference_table(), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="validate stack configuration; print the config reference",
                                   description="Validate stack configuration offline, or print the config reference.")
    sub = parser.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    sub.required = True
    check = sub.add_parser("check", help="validate stacks/Pulumi.<stack>.yaml (no credentials)",
                           description="Validate a stack's configuration file offline; exit 2 with the key at fault.")
    check.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    check.add_argument("--template", help="read stacks/Pulumi.<template>.yaml under the name --stack (e.g. pr)")
    check.set_defaults(handler=_check)
    docs = sub.add_parser("docs", help="print the config reference table (Markdown) the README embeds",
                          description="Print the Markdown config reference generated from infra/config_schema.py.")
    docs.set_defaults(handler=_docs)
