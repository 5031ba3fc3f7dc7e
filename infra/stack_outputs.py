"""The outputs and tags of a deployed stack, read one way: Pulumi's Automation API on this project.

`pulumi.automation.LocalWorkspace(work_dir=<project>)` runs the Pulumi CLI for us:
`stack_outputs(stack)` (`pulumi stack output --json` masked and with `--show-secrets`, so each value
says whether it is secret), `list_tags` and `get_tag` (`pulumi stack tag ls --json` / `get`). None of
them selects the stack, so the workspace's current stack is left alone. They need the Pulumi CLI on
PATH, logged in to the stack's backend.
API: https://www.pulumi.com/docs/reference/pkg/python/pulumi/#pulumi.automation.LocalWorkspace

`dns`, `smoke`, `logs`, `teardown` and the ephemeral-stack helpers take a reader with the methods of
:class:`AutomationStack` (tests pass a fake that records the calls, without a Pulumi CLI); a command
turns a :class:`StackReadError` into one line naming `--stack` and what to do instead
(:func:`read_outputs`).
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional, Protocol

from infra.errors import UserError
from infra.stackfiles.files import PROJECT_ROOT

MISSING_CLI = "the Pulumi CLI ('pulumi') is not on PATH"


class StackReadError(Exception):
    """The stack's outputs or tags cannot be read; the message is one line saying why."""

    def __init__(self, message: str, missing_cli: bool = False):
        super().__init__(message)
        self.missing_cli = missing_cli


class StackReader(Protocol):
    def outputs(self, stack: str, *, secrets: bool = True) -> dict[str, Any]: ...

    def tags(self, stack: str) -> dict[str, str]: ...

    def tag(self, stack: str, name: str) -> Optional[str]: ...


def _first_line(exc: BaseException) -> str:
    """What an Automation API error says, on one line: the last line of the CLI's stderr, else its
    exit code (a CommandError's text is "code: N / stdout: ... / stderr: ...")."""
    text = str(exc)
    stderr = re.search(r"stderr:(.*)", text, re.S)
    lines = [line.strip() for line in (stderr.group(1) if stderr else text).splitlines() if line.strip()]
    if lines:
        return lines[-1][:160]
    code = re.search(r"code: (-?\d+)", text)
    return f"exit code {code.group(1)}" if code else type(exc).__name__


class AutomationStack:
    """The real reader: a LocalWorkspace on the project directory, made on first use."""

    def __init__(self, work_dir: str = str(PROJECT_ROOT)):
        self.work_dir = work_dir
        self._workspace: Any = None

    def workspace(self) -> Any:
        from pulumi import automation

        if self._workspace is None:
            try:
                self._workspace = automation.LocalWorkspace(work_dir=self.work_dir)
            except FileNotFoundError:
                raise StackReadError(MISSING_CLI, missing_cli=True) from None
            except Exception as exc:  # noqa: BLE001 - `pulumi version` failed or is too old
                raise StackReadError(f"the Pulumi CLI cannot be used ({_first_line(exc)})") from None
        return self._workspace

    def outputs(self, stack: str, *, secrets: bool = True) -> dict[str, Any]:
        """Plain values of the stack's outputs; `secrets=False` leaves secret ones masked (no decryption)."""
        workspace = self.workspace()
        try:
            if secrets:
                return {key: value.value for key, value in workspace.stack_outputs(stack).items()}
            done = workspace.pulumi_command.run(["stack", "output", "--json", "--stack", stack], self.work_dir, {})
            masked = json.loads(done.stdout or "")
        except Exception as exc:  # noqa: BLE001 - not logged in, no such stack, output not JSON
            raise StackReadError(f"the stack outputs cannot be read through the Pulumi CLI ({_first_line(exc)})") from None
        if not isinstance(masked, dict):
            raise StackReadError(f"the stack outputs are not a JSON object ({type(masked).__name__})")
        return masked

    def tags(self, stack: str) -> dict[str, str]:
        try:
            found = self.workspace().list_tags(stack)
        except StackReadError:
            raise
        except Exception as exc:  # noqa: BLE001 - older CLIs keep no tags on DIY backends
            raise StackReadError(f"the stack tags cannot be read ({_first_line(exc)})") from None
        if not isinstance(found, dict):
            raise StackReadError(f"the stack tags are not a JSON object ({type(found).__name__})")
        return {str(k): v for k, v in found.items() if isinstance(v, str)}

    def tag(self, stack: str, name: str) -> Optional[str]:
        """One tag's value, or None when the stack has no such tag (or it cannot be read)."""
        try:
            value = self.workspace().get_tag(stack, name)
        except Exception:  # noqa: BLE001 - no CLI, not logged in, no such tag: all "unknown"
            return None
        return value.strip() or None


def read_outputs(stack: str, instead: str, reader: Optional[StackReader] = None) -> dict[str, Any]:
    """The stack's outputs (secrets decrypted, never printed), or one line naming `--stack` and `instead`:
    what the user can pass rather than a stack (e.g. "use --url with --expect-target")."""
    try:
        return (reader or AutomationStack()).outputs(stack)
    except StackReadError as exc:
        if exc.missing_cli:
            raise UserError(f"--stack {stack}: {exc}, so the stack outputs cannot be read; install it and "
                            f"`pulumi login`, or {instead}") from None
        raise UserError(f"--stack {stack}: {exc}; expected a deployed stack and `pulumi login` done, or {instead}") from None


def read_tag(stack: str, name: str) -> Optional[str]:
    """`pulumi stack tag get NAME --stack STACK`, or None (no CLI, not logged in, no such tag)."""
    return AutomationStack().tag(stack, name)
