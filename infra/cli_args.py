"""Arguments every `liveness-infra` command spells the same way, each with one help text.

Commands add `--stack`, `--template` and `--json` through these helpers (`parser` may be an
argument group or a mutually exclusive group), and use `seconds` as the argparse type of a
duration flag. A command that reads more than the stack file through `--stack` (its deployed
outputs, say) says so with `reads=`, after the shared text.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from infra.errors import shorten

STACK_HELP = "stack NAME: reads stacks/Pulumi.<NAME>.yaml (a pr-<N> stack without a file of its own reads the pr template)"
TEMPLATE_HELP = "read stacks/Pulumi.<NAME>.yaml instead, under --stack's name (ephemeral pr-<N> stacks use the pr template)"
JSON_HELP = "print the result as JSON on stdout (progress and warnings go to stderr)"


def add_stack_argument(parser: Any, *, required: bool = True, reads: str | None = None) -> argparse.Action:
    """`--stack NAME`; `reads` adds what else the command reads of the stack (e.g. its outputs)."""
    text = STACK_HELP if reads is None else f"{STACK_HELP}; also {reads}"
    return parser.add_argument("--stack", required=required, metavar="NAME", help=text)


def add_template_argument(parser: Any) -> argparse.Action:
    """`--template NAME`: the stack file to read in place of --stack's own."""
    return parser.add_argument("--template", metavar="NAME", help=TEMPLATE_HELP)


def add_json_argument(parser: Any, holds: str = "") -> argparse.Action:
    """`--json`: machine-readable output on stdout; `holds` says what the JSON is where it differs
    from the text."""
    return parser.add_argument("--json", action="store_true", help=f"{JSON_HELP}: {holds}" if holds else JSON_HELP)


def seconds(flag: str, low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a number of seconds from `low` to `high`, else one line naming `flag`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: received {shorten(text)}; expected a number of seconds") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{flag}: received {value:g}; expected {low:g} to {high:g} seconds")
        return value

    parse.__name__ = flag
    return parse
