"""`pulumi destroy` for teardown, retried while Azure still holds the apps subnet.

After a workload-profiles Container Apps environment is deleted, Azure can keep a service
association link on its subnet for hours (reported up to about two days):
https://github.com/microsoft/azure-container-apps/issues/974. Deleting the subnet, or the virtual
network holding it, then fails with ARM error code `InUseSubnetCannotBeDeleted` ("Subnet … is in use
by …/serviceAssociationLinks/… and cannot be deleted"; the code is listed in
https://learn.microsoft.com/en-us/azure/azure-resource-manager/troubleshooting/common-deployment-errors).
Every other resource is gone by then, so this module retries the destroy with growing pauses up to a
bound, and when the bound is spent reports exactly which resources Azure still holds; teardown then
tags the stack (TAG_TEARDOWN_PENDING) so a later run (for pr-* stacks the daily sweeper) finishes the job.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from infra.lifecycle.pulumi_cli import TEE, PulumiRunner
from infra.lifecycle.tags import TAG_TEARDOWN_PENDING
from infra.stackfiles.names import pr_number

SUBNET_IN_USE_CODE = "InUseSubnetCannotBeDeleted"
# The code, or the message Azure sends with it (in case a provider drops the code).
_SUBNET_IN_USE = re.compile(rf"{SUBNET_IN_USE_CODE}|Subnet \S+ is in use by \S+ and cannot be deleted", re.IGNORECASE)
# A resource heading in Pulumi's diagnostics: "  azure-native:network:Subnet (apps-subnet):"
_RESOURCE = re.compile(r"^\s*([A-Za-z0-9-]+:[A-Za-z0-9/._-]+:[A-Za-z0-9]+) \(([^()]+)\):\s*$")
DEFAULT_RETRY_MINUTES = 60.0
MAX_RETRY_MINUTES = 3 * 24 * 60.0  # Azure's hold has been reported at about two days
FIRST_PAUSE_SECONDS = 60.0
MAX_PAUSE_SECONDS = 600.0
monotonic = time.monotonic  # the retry bound's clock (tests replace it with one driven by their fake sleeps)
EXIT_PENDING = 4  # teardown: destroy could not finish inside the bound; the stack is kept and tagged


@dataclass
class DestroyOutcome:
    ok: bool
    attempts: int
    subnet_in_use: bool = False  # the last failure was Azure holding the subnet
    held: list[str] = field(default_factory=list)  # "type (name)" of what Azure refused to delete
    detail: str = ""  # the last error line naming the code, or the last line of output
    returncode: int = 0


def subnet_in_use(text: str) -> bool:
    return _SUBNET_IN_USE.search(text) is not None


def held_resources(text: str) -> list[str]:
    """The resources whose diagnostic names the subnet-in-use error, as `type (name)`, in order."""
    held: list[str] = []
    current = None
    for line in text.splitlines():
        heading = _RESOURCE.match(line)
        if heading:
            current = f"{heading.group(1)} ({heading.group(2)})"
        elif current and subnet_in_use(line) and current not in held:
            held.append(current)
    return held


def _detail(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if subnet_in_use(line):
            return line[:300]
    return (lines[-1] if lines else "no error output")[:300]


def destroy_with_retry(runner: PulumiRunner, cmd: Sequence[str], *, retry_minutes: float,
                       say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep,
                       clock: Callable[[], float] | None = None) -> DestroyOutcome:
    """Run `cmd` (a `pulumi destroy`); while it fails only because Azure holds the subnet, pause
    (FIRST_PAUSE_SECONDS, doubling up to MAX_PAUSE_SECONDS) and run it again, for at most
    `retry_minutes` from the first attempt. The runner streams destroy's output and returns it (TEE)."""
    clock = clock or monotonic
    started, budget = clock(), retry_minutes * 60.0
    pause, attempts = FIRST_PAUSE_SECONDS, 0
    while True:
        attempts += 1
        done = runner(list(cmd), TEE)  # streamed as it runs, and returned to read the error
        output = "\n".join(part for part in (done.stdout, done.stderr) if part)
        if done.returncode == 0:
            return DestroyOutcome(True, attempts)
        if not subnet_in_use(output):
            return DestroyOutcome(False, attempts, detail=_detail(output), returncode=done.returncode)
        held = held_resources(output)
        left = budget - (clock() - started)
        if pause > left:
            return DestroyOutcome(False, attempts, subnet_in_use=True, held=held, detail=_detail(output),
                                  returncode=done.returncode)
        say(f"  attempt {attempts}: Azure still holds the subnet ({SUBNET_IN_USE_CODE}: {', '.join(held) or 'subnet'}); "
            f"retrying in {pause:g} s ({left / 60:.0f} of {retry_minutes:g} min left, --destroy-retry-minutes)")
        sleep(pause)
        pause = min(pause * 2, MAX_PAUSE_SECONDS)


def pending_report(stack: str, outcome: DestroyOutcome, retry_minutes: float) -> list[str]:
    """What teardown says when the bound is spent: what is left, why, and what happens next."""
    left = ", ".join(outcome.held) or "the apps subnet and its virtual network"
    return [
        f"teardown pending: after {outcome.attempts} destroy attempt(s) in {retry_minutes:g} min, Azure still refuses to "
        f"delete {left} ({SUBNET_IN_USE_CODE}).",
        "  why: a deleted Container Apps environment keeps its subnet for hours (sometimes about two days; "
        "https://github.com/microsoft/azure-container-apps/issues/974). Everything else of the stack is destroyed.",
        f"  left: {left}, and the stack {stack!r} (kept, tagged {TAG_TEARDOWN_PENDING}); the soft-deleted Face account "
        "is purged by the destroy's purge hook, or by the run that finishes.",
        f"  next: run `liveness-infra teardown --stack {stack} --yes` again later; {_who_resumes(stack)} "
        f"Last error: {outcome.detail}",
    ]


def _who_resumes(stack: str) -> str:
    """The daily sweeper lists pr-* stacks only (its token sees no other), so it resumes those alone."""
    if pr_number(stack) is not None:
        return f"the daily sweeper also resumes every pr-* stack tagged {TAG_TEARDOWN_PENDING}."
    return "nothing resumes it by itself (the daily sweeper handles pr-* stacks only)."
