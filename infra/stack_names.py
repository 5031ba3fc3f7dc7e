"""Stack names and which stack file configures a stack (ephemeral `pr-<N>` stacks read the `pr`
template). Pure apart from checking which stack files exist; shared by the config loader and the
lifecycle commands, so neither imports the other.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

from infra.errors import UserError, shorten
from infra.stackfile import STACKS_DIR

PR_TEMPLATE = "pr"
_PR_STACK = re.compile(r"^pr-([1-9][0-9]{0,8})$")
_STACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def pr_stack_name(number: int) -> str:
    """The ephemeral stack of pull request `number`."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise UserError(f"pull request number: received {shorten(number)}; expected a positive whole number")
    return f"pr-{number}"


def pr_number(stack: str) -> Optional[int]:
    """The pull request number of an ephemeral stack name, None for any other stack."""
    m = _PR_STACK.match(stack)
    return int(m.group(1)) if m else None


def validate_stack_name(stack: str, flag: str = "--stack") -> str:
    if not _STACK_NAME.match(stack or ""):
        raise UserError(
            f"{flag}: received {shorten(stack)}; expected a stack name of letters, digits, '.', '_' or '-' "
            "(the part after any org/ prefix), e.g. dev or pr-123"
        )
    return stack


def config_template(stack: str, template: Optional[str] = None, stacks_dir: Path = STACKS_DIR) -> Optional[str]:
    """Which stack file configures `stack`: None for its own file, else the template to read.

    An explicit `template` wins. A `pr-<N>` stack without its own file uses the `pr` template.
    """
    validate_stack_name(stack)
    if template is not None:
        validate_stack_name(template, "--template")
        if pr_number(stack) is None and template != stack:
            # Reading another stack's file under this stack's name would mix two stacks.
            raise UserError(f"--template: received {shorten(template)} for stack {shorten(stack)}; --template is only accepted for "
                            f"ephemeral pr-<N> stacks (other stacks read their own stacks/Pulumi.<stack>.yaml)")
        if not (stacks_dir / f"Pulumi.{template}.yaml").is_file():
            raise UserError(f"--template: received {shorten(template)}; expected a stack with a file stacks/Pulumi.{template}.yaml")
        return template
    if (stacks_dir / f"Pulumi.{stack}.yaml").is_file():
        return None
    if pr_number(stack) is not None and (stacks_dir / f"Pulumi.{PR_TEMPLATE}.yaml").is_file():
        return PR_TEMPLATE
    return None  # let the stack-file reader explain what is missing
