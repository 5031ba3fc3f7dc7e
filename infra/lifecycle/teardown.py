"""`liveness-infra teardown`: destroy an ephemeral/test stack, purge its soft-deleted account, remove it.

Order, each step printed:
  1. look the stack up in the backend (`pulumi stack ls --json`, `pulumi stack output --json`,
     `pulumi stack tag ls --json`) and decide which account to purge;
  2. `pulumi destroy --yes --non-interactive --stack NAME --run-program` (the program's purge hook runs;
     `--no-run-program` leaves it out), retried while Azure still holds the apps subnet
     (infra/lifecycle/destroy_retry.py);
  3. purge the soft-deleted Face account (Azure SDK, infra/purge.py);
  4. `pulumi stack rm --yes --stack NAME`.
Before any of that it refuses — exit 2, nothing touched — a stack whose lifecycle is not test or
ephemeral by its own stack file (when it has one) or by the config it is read from; `--template`
for anything but a `pr-<N>` stack; a deployed stack whose outputs cannot be read, or that says
`prod`, or that holds resources without saying its lifecycle (output `lifecycle` or stack tag
`liveness:lifecycle`); a missing subscription id; and a run that is neither confirmed with --yes
nor at a terminal where the stack name can be typed.

Which account is purged: the `faceAccountId` output, else the `liveness:faceAccountId` stack tag
the preview-env workflow records at `up` time (tags survive destroy, so a re-run after a failed
purge still knows), else for ephemeral stacks every soft-deleted account in the stack's resource
group named `<namePrefix>-face-*` — never a name derived from config, whose suffix came from the
CI run that created the stack.

Exit status: 0 done, 1 a step failed (the message says what state things are in), 2 refused or
usage error, 4 teardown pending: Azure still holds the subnet after --destroy-retry-minutes; the
stack is kept and tagged `liveness:teardownPending`, and a later run (the sweeper) finishes it.
The Pulumi CLI runner, the stack reader (infra/stack_outputs.py) and the Azure client are injected
so tests record the calls. `liveness-infra teardown` is infra/lifecycle/command.py.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from infra.stackfiles import files as stackfile
from infra.stackfiles.names import config_template, pr_number, validate_stack_name
from infra.errors import UserError, shorten
from infra.lifecycle.destroy_retry import DEFAULT_RETRY_MINUTES, EXIT_PENDING, MAX_RETRY_MINUTES, destroy_with_retry, pending_report
from infra.lifecycle.pulumi_cli import PulumiRunner, resolve_subscription, subprocess_runner
from infra.lifecycle.tags import TAG_ACCOUNT_ID, TAG_LIFECYCLE, TAG_LOCATION, TAG_TEARDOWN_PENDING
from infra.purge import (
    PurgeError, PurgeTarget, default_client, normalize_location, purge_by_prefix,
    purge_soft_deleted, target_from_account_id,
)
from infra.stack_outputs import AutomationStack, StackReader, StackReadError

TEARABLE = ("test", "ephemeral")
DEFAULT_PURGE_WAIT_SECONDS = 90.0


class TeardownRefused(UserError):
    """Teardown of this stack is not allowed; nothing was touched."""


@dataclass
class Found:
    """What step 1 learnt of the stack in the backend, and what step 3 will purge."""

    exists: bool
    deployed: bool = False  # listed and holding resources (so a just-deleted account may take a while to show)
    outputs: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    target: Optional[PurgeTarget] = None  # None: purge by the account-name prefix


class Teardown:
    def __init__(
        self,
        stack: str,
        *,
        template: Optional[str] = None,
        yes: bool = False,
        subscription_id: Optional[str] = None,
        run_program: bool = True,
        purge_wait: float = DEFAULT_PURGE_WAIT_SECONDS,
        destroy_retry_minutes: float = DEFAULT_RETRY_MINUTES,
        runner: Optional[PulumiRunner] = None,
        client_factory: Optional[Callable[[str], Any]] = None,
        environ: Optional[dict[str, str]] = None,
        is_tty: Callable[[], bool] = lambda: sys.stdin.isatty(),
        ask: Callable[[str], str] = input,
        out: Optional[Callable[[str], None]] = None,
        sleep: Optional[Callable[[float], None]] = None,
        pulumi_available: Optional[Callable[[], bool]] = None,
        stack_reader: Optional[StackReader] = None,
    ):
        self.stack = stack
        self.template = template
        self.yes = yes
        self.subscription_flag = subscription_id
        self.run_program = run_program
        self.purge_wait = purge_wait
        self.destroy_retry_minutes = destroy_retry_minutes
        # Looked up at call time so the module-level defaults can be swapped (tests, embedding).
        self.runner = runner or subprocess_runner
        self.stack_reader = stack_reader or AutomationStack()  # outputs and tags (infra/stack_outputs.py)
        self.client_factory = client_factory or default_client
        self.environ = environ
        self.is_tty = is_tty
        self.ask = ask
        # Flushed: the Pulumi CLI writes to the same stdout, and CI logs are pipes.
        self.out = out or (lambda message: print(message, flush=True))
        self.sleep = sleep
        if pulumi_available is None:
            pulumi_available = (lambda: shutil.which("pulumi") is not None) if runner is None else (lambda: True)
        self.pulumi_available = pulumi_available

    # -- checks that happen before anything is touched ------------------------------------------

    def preflight(self):
        from infra.config.loader import load_stack_settings

        stack = validate_stack_name(self.stack)
        if self.template is not None and pr_number(stack) is None:
            raise UserError(
                f"--template: received {shorten(self.template)} for stack {shorten(stack)}; --template is only accepted for "
                "ephemeral pr-<N> stacks. Other stacks are judged by their own stacks/Pulumi.<stack>.yaml. Nothing was touched."
            )
        # The stack's own file, when there is one, must allow it whatever --template says.
        if (stackfile.STACKS_DIR / f"Pulumi.{stack}.yaml").is_file():
            self._refuse_unless_tearable(stack, load_stack_settings(stack, None), f"stacks/Pulumi.{stack}.yaml")
        template = config_template(stack, self.template, stackfile.STACKS_DIR)
        settings = load_stack_settings(stack, template)
        self._refuse_unless_tearable(stack, settings, f"stacks/Pulumi.{template or stack}.yaml")
        if not 0 <= self.purge_wait <= 3600:
            raise UserError(f"--purge-wait: received {self.purge_wait:g}; expected 0 to 3600 seconds")
        if not 0 <= self.destroy_retry_minutes <= MAX_RETRY_MINUTES:
            raise UserError(f"--destroy-retry-minutes: received {self.destroy_retry_minutes:g}; expected 0 to {MAX_RETRY_MINUTES:g}")
        subscription = resolve_subscription(self.subscription_flag, self.environ)
        if not self.pulumi_available():
            raise UserError("teardown needs the Pulumi CLI on PATH (https://www.pulumi.com/docs/install/), logged in to "
                            "the stack's backend")
        self.confirm(stack)
        return stack, template, settings, subscription

    @staticmethod
    def _refuse_unless_tearable(stack: str, settings: Any, source: str) -> None:
        if not settings.may_tear_down:
            raise TeardownRefused(
                f"--stack: refusing to tear down {stack!r}: its liveness:lifecycle is {settings.lifecycle!r} ({source}); only "
                "test and ephemeral stacks may be torn down. Nothing was touched, and the protection of its "
                "account, zone and verification record stays on."
            )

    def confirm(self, stack: str) -> None:
        if self.yes:
            return
        if not self.is_tty():
            raise UserError("--yes: not given and stdin is not a terminal, so no confirmation is possible; pass --yes "
                            "to tear down without asking")
        answer = self.ask(f"This destroys every resource of stack {stack!r} and purges its Face account. Type the stack name to go on: ")
        if answer.strip() != stack:
            raise UserError(f"confirmation: received {answer.strip()!r}; expected the stack name {stack!r}. Nothing was touched.")

    # -- the steps ----------------------------------------------------------------------------

    def execute(self) -> int:
        stack, _template, settings, subscription = self.preflight()
        self.out(f"[1/4] looking up stack {stack!r} in the Pulumi backend")
        found = self.look_up(stack, settings, subscription)
        if found is None:
            return 1
        if found.exists:
            failed = self.destroy(stack, found.tags)
            if failed is not None:
                return failed
        else:
            self.out("[2/4] destroy: skipped (no such stack)")
        wait = self.purge_wait if found.deployed else 0.0
        ok = self.purge(found.target, wait, subscription) if found.target else self.purge_prefix(settings, wait, subscription)
        if not ok:
            return 1
        if not found.exists:
            self.out("[4/4] stack rm: skipped (no such stack)")
        elif not self.remove(stack, settings):
            return 1
        self.out(f"teardown of {stack!r} done")
        return 0

    def look_up(self, stack: str, settings: Any, subscription: str) -> Optional[Found]:
        """Step 1: the backend's entry, outputs and tags, and what to purge; None when the backend
        cannot be read (printed). Decided before destroy: destroy empties the outputs (tags stay)."""
        entry = self.stack_entry(stack)
        if entry is None:
            return None
        found = Found(exists=entry is not False)
        if found.exists:
            read = self.stack_outputs(stack)
            if read is None:
                raise TeardownRefused(
                    f"--stack: refusing to tear down {stack!r}: its outputs could not be read (pulumi stack output "
                    "failed or printed no JSON object), so what is deployed cannot be checked. Nothing was touched."
                )
            found.outputs, found.tags = read, self.stack_tags(stack)
            self.check_deployed_lifecycle(stack, found.outputs, found.tags, entry)
            found.deployed = entry.get("resourceCount") != 0
        else:
            self.out(f"  stack {stack!r} is not in the backend: nothing to destroy or remove")
        found.target, source = self.purge_target(settings, found.outputs, found.tags, subscription)
        if found.target is not None:
            self.out(f"  Face {found.target.describe()} (from the {source})")
        else:
            self.out(f"  Face account name not recorded (no output, no {TAG_ACCOUNT_ID} stack tag): will purge "
                     f"every soft-deleted account named {self.account_prefix(settings)}* in resource group "
                     f"{settings.resource_group_name}")
        return found

    def destroy(self, stack: str, tags: dict[str, str]) -> Optional[int]:
        """Step 2: `pulumi destroy`, retried while Azure holds the subnet; the exit code when it stops here."""
        say = self.out
        say(f"[2/4] pulumi destroy --stack {stack}" + (" --run-program" if self.run_program else ""))
        cmd = ["destroy", "--yes", "--non-interactive", "--stack", stack]
        if self.run_program:
            cmd.append("--run-program")
        if tags.get(TAG_TEARDOWN_PENDING):
            say(f"  resuming: stack tag {TAG_TEARDOWN_PENDING} = {tags[TAG_TEARDOWN_PENDING]}")
        done = destroy_with_retry(self.runner, cmd, retry_minutes=self.destroy_retry_minutes, say=say,
                                  **self._sleep_option())
        if done.subnet_in_use:
            mark = self.runner(["stack", "tag", "set", TAG_TEARDOWN_PENDING, done.detail[:200], "--stack", stack], True)
            for line in pending_report(stack, done, self.destroy_retry_minutes):
                say(line)
            if mark.returncode != 0:
                say(f"  warning: could not set stack tag {TAG_TEARDOWN_PENDING}; the sweeper finds the stack by its "
                    "age instead")
            return EXIT_PENDING
        if not done.ok:
            say(f"error: pulumi destroy failed (exit {done.returncode}: {done.detail}); nothing was purged and the "
                "stack is kept. Fix the cause and run teardown again.")
            return 1
        return None

    def _sleep_option(self) -> dict[str, Any]:
        return {"sleep": self.sleep} if self.sleep else {}

    def purge(self, target: PurgeTarget, wait: float, subscription: str) -> bool:
        """Step 3, the account known: purge it. False when it failed (printed, with the command to do it by hand)."""
        say = self.out
        say(f"[3/4] purging the soft-deleted Face {target.describe()}")
        try:
            result = purge_soft_deleted(self.client_factory(subscription), target, wait_seconds=wait, report=say,
                                        **self._sleep_option())
        except PurgeError as exc:
            say(f"error: {exc}")
            say("  the stack is kept. To purge by hand: az cognitiveservices account purge "
                f"--location {target.location} --resource-group {target.resource_group_name} --name {target.account_name}")
            return False
        if result.purged:
            say(f"  purged: {target.account_name!r} and its subdomain are free again")
        else:
            say(f"  nothing soft-deleted named {target.account_name!r} in {target.location}/"
                f"{target.resource_group_name}: nothing to purge")
        return True

    def purge_prefix(self, settings: Any, wait: float, subscription: str) -> bool:
        """Step 3, the account not recorded: purge every soft-deleted `<namePrefix>-face-*` in the group."""
        say = self.out
        prefix, group = self.account_prefix(settings), settings.resource_group_name
        say(f"[3/4] purging soft-deleted Face accounts named {prefix}* in resource group {group}")
        try:
            results = purge_by_prefix(self.client_factory(subscription), subscription, group, prefix,
                                      wait_seconds=wait, report=say, **self._sleep_option())
        except PurgeError as exc:
            say(f"error: {exc}")
            say("  the stack is kept. To find and purge by hand: az cognitiveservices account list-deleted, then "
                "az cognitiveservices account purge --location L --resource-group G --name N")
            return False
        purged = [r.target.account_name for r in results if r.purged]
        if purged:
            say(f"  purged: {', '.join(repr(n) for n in purged)}; their names and subdomains are free again")
        else:
            say(f"  nothing soft-deleted named {prefix}* in resource group {group}: nothing to purge")
        return True

    def remove(self, stack: str, settings: Any) -> bool:
        """Step 4: `pulumi stack rm`. False when it failed (printed)."""
        self.out(f"[4/4] pulumi stack rm --stack {stack}")
        cmd = ["stack", "rm", "--yes", "--stack", stack]
        if settings.lifecycle == "test":
            cmd.append("--preserve-config")  # a long-lived test stack's config file is kept in git
        done = self.runner(cmd, False)
        if done.returncode != 0:
            self.out(f"error: pulumi stack rm failed (exit {done.returncode}); resources are destroyed and the account "
                     "purged, only the empty stack is left. Run teardown again, or `pulumi stack rm` by hand.")
            return False
        return True

    def stack_entry(self, stack: str) -> Any:
        """The stack's `pulumi stack ls --json` entry, False when it is not listed, None on error (printed)."""
        done = self.runner(["stack", "ls", "--json"], True)
        if done.returncode != 0:
            detail = (done.stderr.strip().splitlines() or ["no error output"])[-1]
            self.out(f"error: pulumi stack ls failed (exit {done.returncode}): {detail}. Is the CLI logged in "
                     "to the right backend (pulumi login / PULUMI_BACKEND_URL)? Nothing was touched.")
            return None
        try:
            listing = json.loads(done.stdout or "[]")
        except json.JSONDecodeError:
            self.out("error: pulumi stack ls --json printed something that is not JSON. Nothing was touched.")
            return None
        for e in listing if isinstance(listing, list) else []:
            if isinstance(e, dict) and str(e.get("name", "")).rsplit("/", 1)[-1] == stack:
                return e
        return False

    def stack_outputs(self, stack: str) -> Optional[dict[str, Any]]:
        """Outputs of the deployed stack (secrets stay masked: no --show-secrets); None if unreadable."""
        try:
            return self.stack_reader.outputs(stack, secrets=False)
        except StackReadError:
            return None

    def stack_tags(self, stack: str) -> dict[str, str]:
        """The stack's tags ({} when they cannot be read: older CLIs keep none on DIY backends)."""
        try:
            return self.stack_reader.tags(stack)
        except StackReadError:
            return {}

    def check_deployed_lifecycle(self, stack: str, outputs: dict[str, Any], tags: dict[str, str], entry: dict) -> None:
        """What is deployed must say test/ephemeral too; refuse when it cannot tell."""
        deployed, source = outputs.get("lifecycle"), "stack output 'lifecycle'"
        if deployed is None and isinstance(tags.get(TAG_LIFECYCLE), str):
            deployed, source = tags[TAG_LIFECYCLE], f"stack tag {TAG_LIFECYCLE}"
        if deployed is None:
            if entry.get("resourceCount") == 0:
                self.out("  the stack holds no resources (an earlier destroy ran): nothing deployed to check")
                return
            raise TeardownRefused(
                f"--stack: refusing to tear down {stack!r}: what is deployed does not say its lifecycle (no 'lifecycle' "
                f"output, no {TAG_LIFECYCLE} stack tag) and the stack holds resources, so it cannot be told apart from "
                "a prod stack. Nothing was touched. Check it by hand (pulumi stack --stack NAME)."
            )
        if deployed not in TEARABLE:
            raise TeardownRefused(
                f"--stack: refusing to tear down {stack!r}: what is deployed reports lifecycle {deployed!r} "
                f"({source}); only test and ephemeral stacks may be torn down. Nothing was touched."
            )

    @staticmethod
    def account_prefix(settings: Any) -> str:
        return f"{settings.name_prefix}-face-"

    def purge_target(
        self, settings: Any, outputs: dict[str, Any], tags: dict[str, str], subscription: str
    ) -> tuple[Optional[PurgeTarget], str]:
        """What to purge and where that came from; (None, "") when only a prefix scan is reliable.

        In order: the `faceAccountId` output; the `liveness:faceAccountId` stack tag recorded at
        `up` time; the `faceAccountName` output; for test stacks (names fixed by a committed file)
        the configured name. An ephemeral stack's name carries a suffix chosen by the CI run that
        created it, so its configured name is never trusted.
        """
        location = outputs.get("location") if isinstance(outputs.get("location"), str) else None
        for account_id, source, loc in (
            (outputs.get("faceAccountId"), "stack outputs", location),
            (tags.get(TAG_ACCOUNT_ID), f"stack tag {TAG_ACCOUNT_ID}", tags.get(TAG_LOCATION) or location),
        ):
            if not (isinstance(account_id, str) and account_id.startswith("/subscriptions/")):
                continue
            try:
                target = target_from_account_id(account_id, loc or settings.location)
            except ValueError:
                continue
            if target.subscription_id.lower() != subscription:
                raise UserError(
                    f"--subscription-id: received {subscription}; the stack's Face account lives in subscription "
                    f"{target.subscription_id}. Nothing was touched."
                )
            return PurgeTarget(subscription, target.location, target.resource_group_name, target.account_name), source
        name = outputs.get("faceAccountName")
        if isinstance(name, str) and name:
            given = outputs.get("resourceGroupName")
            group = given if isinstance(given, str) else settings.resource_group_name
            return PurgeTarget(subscription, normalize_location(location or settings.location), group, name), "stack outputs"
        if settings.lifecycle == "ephemeral":
            return None, ""
        return PurgeTarget(subscription, normalize_location(settings.location), settings.resource_group_name,
                           settings.face.account_name), "stack config"

