"""`liveness-infra teardown`: the command line of infra/lifecycle/teardown.py."""

from __future__ import annotations

import argparse

from infra.cli_args import add_stack_argument, add_template_argument
from infra.lifecycle.destroy_retry import DEFAULT_RETRY_MINUTES, EXIT_PENDING
from infra.lifecycle.tags import TAG_TEARDOWN_PENDING
from infra.lifecycle.teardown import DEFAULT_PURGE_WAIT_SECONDS, Teardown


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "teardown",
        help="destroy an ephemeral/test stack, purge its soft-deleted Face account, remove the stack",
        description=(
            "Destroy an ephemeral or test stack (pulumi destroy), purge the soft-deleted Face account so its "
            "name and subdomain are free again, and remove the stack (pulumi stack rm). Stacks with lifecycle "
            "prod are refused before anything is touched. Needs the Pulumi CLI logged in to the stack's "
            "backend and Azure credentials (DefaultAzureCredential) allowed "
            "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/delete on the subscription."
        ),
        epilog=(f"exit status: 0 done; 1 a step failed (the message says what is left); 2 refused or usage error, nothing "
                f"touched; {EXIT_PENDING} teardown pending: Azure still holds the apps subnet (InUseSubnetCannotBeDeleted) "
                f"after --destroy-retry-minutes, the stack is kept and tagged {TAG_TEARDOWN_PENDING} for a later run"),
    )
    add_stack_argument(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (required when stdin is not a terminal)")
    p.add_argument("--subscription-id", metavar="ID",
                   help="Azure subscription of the stack (default: $ARM_SUBSCRIPTION_ID, then $AZURE_SUBSCRIPTION_ID)")
    add_template_argument(p)
    p.add_argument("--run-program", action=argparse.BooleanOptionalAction, default=True,
                   help="pass --run-program to pulumi destroy, so the purge-after-delete hook runs (default; "
                        "--no-run-program destroys from state alone)")
    p.add_argument("--destroy-retry-minutes", type=float, default=DEFAULT_RETRY_MINUTES, metavar="MINUTES",
                   help=f"keep retrying destroy (pauses 1 min doubling to 10) while Azure holds the subnet, this long "
                        f"(default {DEFAULT_RETRY_MINUTES:g}; 0: one attempt)")
    p.add_argument("--purge-wait", type=float, default=DEFAULT_PURGE_WAIT_SECONDS, metavar="SECONDS",
                   help=f"how long to wait for a just-deleted account to show as soft-deleted (default {DEFAULT_PURGE_WAIT_SECONDS:g})")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    return Teardown(
        stack=args.stack,
        template=args.template,
        yes=args.yes,
        subscription_id=args.subscription_id,
        run_program=args.run_program,
        purge_wait=args.purge_wait,
        destroy_retry_minutes=args.destroy_retry_minutes,
    ).execute()
