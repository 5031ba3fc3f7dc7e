"""How teardown reaches the Pulumi CLI (one replaceable runner, so tests replay the exact calls) and
which Azure subscription it works in.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from infra.azure_ids import GUID
from infra.errors import UserError, shorten
from infra.stackfiles.files import PROJECT_ROOT

SUBSCRIPTION_ENV = ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID")


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str = ""
    stderr: str = ""


# (pulumi arguments, capture output?) -> result. Streaming commands print straight to the terminal;
# TEE streams the output (stderr merged into stdout) and returns it too, for commands whose errors
# are read afterwards (teardown's destroy).
TEE = "tee"
PulumiRunner = Callable[[Sequence[str], "bool | str"], CommandResult]


def subprocess_runner(args: Sequence[str], capture: "bool | str") -> CommandResult:
    """Runs the real Pulumi CLI in the project directory."""
    if capture == TEE:
        lines: list[str] = []
        with subprocess.Popen(["pulumi", *args], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace") as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                print(line, end="", flush=True)
                lines.append(line)
        return CommandResult(proc.returncode, "".join(lines), "")
    done = subprocess.run(["pulumi", *args], cwd=PROJECT_ROOT, capture_output=capture is True, text=True, check=False)
    return CommandResult(done.returncode, done.stdout or "", done.stderr or "")


def resolve_subscription(flag: Optional[str], environ: Optional[dict[str, str]] = None) -> str:
    env = os.environ if environ is None else environ
    value, source = flag, "--subscription-id"
    if not value:
        for name in SUBSCRIPTION_ENV:
            if env.get(name):
                value, source = env[name], f"${name}"
                break
    if not value:
        raise UserError(
            "--subscription-id: received nothing (and $ARM_SUBSCRIPTION_ID / $AZURE_SUBSCRIPTION_ID are unset); "
            "expected the id of the Azure subscription the stack deploys to"
        )
    value = value.strip()
    if not GUID.match(value):
        raise UserError(f"{source}: received {shorten(value)}; expected a subscription id like 00000000-0000-0000-0000-000000000000")
    return value.lower()

