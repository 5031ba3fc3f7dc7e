"""Ephemeral per-pull-request stacks: names, where their config comes from, and the sweeper's choice.

A pull request labelled `preview-env` gets the stack `pr-<number>`, configured from the template
stacks/Pulumi.pr.yaml (the workflow copies it to stacks/Pulumi.pr-<number>.yaml before `pulumi
up`; later runs, e.g. teardown from a fresh checkout, read the template directly).

`python -m infra.lifecycle.ephemeral stack-tags --stack pr-<N> --subscription-id ID` prints the stack tags
the workflow records before `pulumi up` (lifecycle, the Face account id with the run's suffix, its
location); `liveness-infra teardown` reads them back, also after a destroy emptied the outputs.

`python -m infra.lifecycle.ephemeral expired --ttl-hours H < stacks.json` is what the sweeper workflow runs
on `pulumi stack ls --json`: it prints the `pr-*` stacks whose last update is older than the TTL,
as a JSON list. Whether their pull request is closed is checked by the workflow (GitHub API).
`... pending < stacks.json` prints the `pr-*` stacks a teardown left tagged `liveness:teardownPending`
(Azure still held the subnet): the sweeper resumes those whatever their age.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Optional, Sequence

from infra.cli_args import add_stack_argument
from infra.azure_ids import GUID
from infra.errors import UserError, shorten
from infra.lifecycle.tags import TAG_ACCOUNT_ID, TAG_LIFECYCLE, TAG_LOCATION, TAG_TEARDOWN_PENDING
from infra.stack_outputs import read_tag
from infra.stackfiles.names import config_template, pr_number, pr_stack_name, validate_stack_name

PR_LABEL = "preview-env"
DEFAULT_TTL_HOURS = 72


# ---------------------------------------------------------------------------------------------
# Stack tags recorded at `up` time (read back by `liveness-infra teardown`)
# ---------------------------------------------------------------------------------------------



def stack_tags(stack: str, subscription_id: str) -> dict[str, str]:
    """The tags preview-env.yml sets on `stack` before `pulumi up`: lifecycle, Face account id, location.

    Read from the stack's file as it is on the runner at that moment (the template copy plus the
    `liveness:instanceSuffix` the run just set), so the account id carries the run's real suffix.
    Stack tags survive `pulumi destroy`, so a later teardown still knows what to purge.
    """
    from infra.config.loader import load_stack_settings

    if not GUID.match(subscription_id or ""):
        raise UserError(f"--subscription-id: received {shorten(subscription_id)}; expected a subscription id like "
                        "00000000-0000-0000-0000-000000000000")
    settings = load_stack_settings(validate_stack_name(stack))
    account_id = (
        f"/subscriptions/{subscription_id.lower()}/resourceGroups/{settings.resource_group_name}"
        f"/providers/Microsoft.CognitiveServices/accounts/{settings.face.account_name}"
    )
    return {
        TAG_LIFECYCLE: settings.lifecycle,
        TAG_ACCOUNT_ID: account_id,
        TAG_LOCATION: settings.location,
    }


# ---------------------------------------------------------------------------------------------
# The deployed Face account of a pr-<N> stack
# ---------------------------------------------------------------------------------------------

_ACCOUNT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def deployed_settings(stack: str, template: Optional[str] = None, tag_reader=None):
    """The stack's settings, naming the Face account that is really deployed.

    A `pr-<N>` stack built from the template gets its account suffix from the run that created it
    (`liveness:instanceSuffix`, set by preview-env.yml on the runner and recorded in the stack tag
    `liveness:faceAccountId`), which no file in a checkout holds. Offline, the template alone would
    name another account, so for an ephemeral stack whose config pins neither `instanceSuffix` nor
    `faceCustomSubdomain`, the account name comes from that stack tag, or the command stops.
    """
    import dataclasses

    from infra.config.loader import load_stack_settings
    from infra.stackfiles.files import read_stack_config

    settings = load_stack_settings(stack, template=template)
    if settings.lifecycle != "ephemeral" or pr_number(stack) is None:
        return settings  # the `pr` template itself is never deployed: it renders as written
    source = config_template(stack, template) or stack
    config = read_stack_config(source)
    pinned = [k for k in ("liveness:instanceSuffix", "liveness:faceCustomSubdomain")
              if (config.get(k) or "").strip() not in ("", "null")]
    if pinned:
        return settings
    account_id = (tag_reader or read_tag)(stack, TAG_ACCOUNT_ID)
    name = account_id.rstrip("/").rsplit("/", 1)[-1].lower() if account_id else None
    if not name or not _ACCOUNT_NAME.match(name):
        raise UserError(
            f"--stack: {stack} is an ephemeral stack whose Face account name carries the suffix of the run that "
            f"created it, which stacks/Pulumi.{source}.yaml does not hold; expected the stack tag {TAG_ACCOUNT_ID} "
            f"(log in with the Pulumi CLI), or set liveness:instanceSuffix in the stack's file")
    face = dataclasses.replace(settings.face, account_name=name, custom_subdomain=name)
    return dataclasses.replace(settings, face=face)


# ---------------------------------------------------------------------------------------------
# Sweeper
# ---------------------------------------------------------------------------------------------


def _parse_time(text: Any) -> Optional[datetime]:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def expired_pr_stacks(stack_list: Iterable[dict[str, Any]], now: datetime, ttl: timedelta) -> list[str]:
    """`pr-*` stacks of `pulumi stack ls --json` last updated more than `ttl` before `now`.

    A stack with no (or an unreadable) last-update time counts as expired: it was created but
    never deployed, or its history is gone, so it holds nothing worth waiting for.
    Names may be qualified (`org/project/pr-12`); the result has the plain stack names, sorted.
    """
    out: set[str] = set()
    for entry in stack_list:
        name = str(entry.get("name", "")).rsplit("/", 1)[-1]
        if pr_number(name) is None:
            continue
        updated = _parse_time(entry.get("lastUpdate"))
        if updated is None or now - updated > ttl:
            out.add(name)
    return sorted(out, key=lambda n: pr_number(n) or 0)


def pending_pr_stacks(stack_list: Iterable[dict[str, Any]], tag_reader=None) -> list[str]:
    """`pr-*` stacks tagged `liveness:teardownPending`: a teardown that Azure's subnet hold stopped
    (infra/lifecycle/destroy_retry.py). The sweeper resumes them whatever their age."""
    read = tag_reader or read_tag
    names = {str(e.get("name", "")).rsplit("/", 1)[-1] for e in stack_list if isinstance(e, dict)}
    return sorted((n for n in names if pr_number(n) is not None and read(n, TAG_TEARDOWN_PENDING)),
                  key=lambda n: pr_number(n) or 0)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.lifecycle.ephemeral",
        description="Helpers for the preview-env and sweeper workflows.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("expired", help="print (JSON) the pr-* stacks older than the TTL, reading `pulumi stack ls --json` on stdin")
    exp.add_argument("--ttl-hours", type=float, default=DEFAULT_TTL_HOURS, help=f"age after the last update (default {DEFAULT_TTL_HOURS})")
    sub.add_parser("pending", help="print (JSON) the pr-* stacks tagged liveness:teardownPending, reading "
                                   "`pulumi stack ls --json` on stdin (asks `pulumi stack tag get` for each)")
    name = sub.add_parser("stack-name", help="print the ephemeral stack name of a pull request number")
    name.add_argument("number", type=int)
    tags = sub.add_parser("stack-tags", help="print 'NAME VALUE' lines of the stack tags to set before `pulumi up`")
    add_stack_argument(tags)
    tags.add_argument("--subscription-id", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "stack-tags":
            for key, value in stack_tags(args.stack, args.subscription_id).items():
                print(f"{key} {value}")
            return 0
        if args.command == "stack-name":
            print(pr_stack_name(args.number))
            return 0
        if args.command == "expired" and not 0 < args.ttl_hours <= 24 * 365:
            raise UserError(f"--ttl-hours: received {args.ttl_hours}; expected more than 0 and at most 8760")
        try:
            listing = json.load(sys.stdin)
        except json.JSONDecodeError as exc:
            raise UserError(f"stdin: expected the JSON of `pulumi stack ls --json`: {exc}") from None
        if not isinstance(listing, list):
            raise UserError("stdin: expected a JSON list (the output of `pulumi stack ls --json`)")
        if args.command == "pending":
            print(json.dumps(pending_pr_stacks(listing)))
            return 0
        now = datetime.now(timezone.utc)
        print(json.dumps(expired_pr_stacks(listing, now, timedelta(hours=args.ttl_hours))))
        return 0
    except UserError as exc:
        print(f"infra.lifecycle.ephemeral: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
