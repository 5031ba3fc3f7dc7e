"""`liveness-infra`: the command line for planning, running and operating the deployment.

Each command package has a ``command.py`` exposing ``register(subparsers)``; the handler it sets
with ``set_defaults(handler=...)`` is named ``run`` (``run_<subcommand>`` for subcommands), takes the
parsed arguments and returns the exit code. ``--stack``, ``--template``, ``--json`` and duration
types come from :mod:`infra.cli_args`, so every command spells them alike.
User mistakes raise :class:`infra.errors.UserError` and end as one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from typing import Sequence

from components.args_errors import ComponentArgsError
from infra.errors import UserError, component_refusal, one_line

# Modules that contribute subcommands, in the order --help lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "infra.plan.command",
    "infra.proxy.command",
    "infra.dns.command",
    "infra.lifecycle.command",
    "infra.config.command",
    "infra.smoke.command",
    "infra.logs.command",
)

EXIT_USAGE = 2
DISTRIBUTION = "face-liveness-isolation"


def installed_version() -> str:
    """The package's version from its installed metadata (pyproject.toml is the one source)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (not installed; pip install -e . first)"


class OneLineErrorParser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are one line (the full usage is one --help away),
    and that says a flag's name once even when its type check already named it."""

    def error(self, message: str):
        match = re.match(r"argument (\S+): (\S+): ", message)
        if match and match.group(2) in match.group(1).split("/"):
            message = message[len("argument ") + len(match.group(1)) + 2:]
        self.exit(EXIT_USAGE, one_line(f"{self.prog}: error: {message} (see {self.prog} --help)", 400) + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="liveness-infra",
        description=(
            "Plan, run and operate the network-isolated Azure AI Face liveness deployment. "
            "Commands that take --stack read stacks/Pulumi.<stack>.yaml."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(one_line(f"liveness-infra {args.command}: error: {exc}", 400), file=sys.stderr)
        return EXIT_USAGE
    except ComponentArgsError as exc:
        # Config validation should have refused this first; still one line, naming the field.
        print(one_line(f"liveness-infra {args.command}: error: {component_refusal(exc)}", 400), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"liveness-infra {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` or similar that stopped reading: not an error worth a traceback.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
