"""Purging a soft-deleted Azure AI Face / Cognitive Services account.

Deleting a Cognitive Services account only soft-deletes it: its name and custom subdomain stay
reserved (for 48 hours) and re-creating an environment with the same names fails
(pulumi-azure-native#2529, Azure/bicep#17663). `liveness-infra teardown` calls `purge_soft_deleted`
after `pulumi destroy`; `purge_after_delete` is the same step as a Pulumi resource hook
(`after_delete`) for programs that want it inside `pulumi destroy --run-program`.

Permission: the purge is a subscription-scope operation,
`Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/delete` (and `.../read` to look
the account up first). The built-in role *Cognitive Services Contributor* assigned at the
subscription includes both; a role assigned on the resource group alone does not.

The SDK client is injected (`client_factory`), so tests use a fake that records calls; only
`default_client` imports azure-identity and azure-mgmt-cognitiveservices.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

REQUIRED_PERMISSION = "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/delete"
_ACCOUNT_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/Microsoft\.CognitiveServices/accounts/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class PurgeTarget:
    subscription_id: str
    location: str
    resource_group_name: str
    account_name: str

    def describe(self) -> str:
        return f"account {self.account_name!r} (resource group {self.resource_group_name}, location {self.location})"


@dataclass(frozen=True)
class PurgeResult:
    outcome: str  # "purged" | "not-found"
    target: PurgeTarget

    @property
    def purged(self) -> bool:
        return self.outcome == "purged"


class PurgeError(Exception):
    """The purge was attempted and failed; the message says what to do."""


def target_from_account_id(account_id: str, location: str) -> PurgeTarget:
    """A PurgeTarget from an ARM account id (`/subscriptions/…/accounts/NAME`) and its location."""
    m = _ACCOUNT_ID.match(account_id or "")
    if not m:
        raise ValueError(f"not a Cognitive Services account id: {account_id!r}")
    return PurgeTarget(m.group("sub"), normalize_location(location), m.group("rg"), m.group("name"))


def normalize_location(location: str) -> str:
    """ARM wants the location name (westeurope), not the display name (West Europe)."""
    return re.sub(r"\s+", "", location or "").lower()


def _is_not_found(exc: BaseException) -> bool:
    if type(exc).__name__ == "ResourceNotFoundError":
        return True
    return getattr(exc, "status_code", None) == 404


def _is_forbidden(exc: BaseException) -> bool:
    """Azure knows who is asking and says no (403): a missing role assignment."""
    return getattr(exc, "status_code", None) == 403


def _is_unauthenticated(exc: BaseException) -> bool:
    """No usable credentials (DefaultAzureCredential found none) or the token was rejected (401)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if getattr(exc, "status_code", None) == 403:
        return False
    return bool(names & {"ClientAuthenticationError", "CredentialUnavailableError"}) or getattr(exc, "status_code", None) == 401


def _credentials_error(exc: BaseException) -> "PurgeError":
    return PurgeError(
        "no usable Azure credentials: DefaultAzureCredential got no token (or Azure rejected it). Sign in "
        "(`az login`, azure/login with OIDC, or AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_FEDERATED_TOKEN_FILE) "
        f"and run teardown again: {_first_line(exc)}"
    )


def _refusal(exc: BaseException, *, forbidden: str, failed: str) -> "PurgeError":
    """The one-line error for an SDK failure other than not-found: no credentials, not allowed
    (`forbidden`, what the identity needs), or anything else (`failed`); each ends in Azure's words."""
    if _is_unauthenticated(exc):
        return _credentials_error(exc)
    return PurgeError(f"{forbidden if _is_forbidden(exc) else failed}: {exc}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _retries(wait_seconds: float, interval_seconds: float) -> int:
    """How many more lookups fit in the wait: bounded in count as well as in time."""
    if wait_seconds <= 0 or interval_seconds <= 0:
        return 0
    return int(wait_seconds // interval_seconds)


def find_soft_deleted(client: Any, target: PurgeTarget) -> Optional[Any]:
    """The soft-deleted account, or None when there is none by that name in that location/group."""
    try:
        return client.deleted_accounts.get(target.location, target.resource_group_name, target.account_name)
    except Exception as exc:  # the SDK raises azure.core.exceptions.*; matched by name/status
        if _is_not_found(exc):
            return None
        raise _refusal(exc, forbidden=(
            f"not allowed to read soft-deleted accounts: the identity needs {REQUIRED_PERMISSION.rsplit('/', 1)[0]}/read "
            "and /delete at subscription scope (e.g. Cognitive Services Contributor on the subscription)"),
            failed=f"looking up the soft-deleted {target.describe()} failed") from None


def purge_soft_deleted(
    client: Any,
    target: PurgeTarget,
    *,
    wait_seconds: float = 0.0,
    interval_seconds: float = 10.0,
    poll_timeout_seconds: float = 600.0,
    report: Callable[[str], None] = lambda _msg: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PurgeResult:
    """Purge `target` if it is soft-deleted.

    `wait_seconds` > 0 keeps looking for that long (every `interval_seconds`) when the account is
    not listed yet: right after a delete it can take a moment to appear among deleted accounts.
    Returns "not-found" when there is nothing to purge (not an error).
    """
    deadline = clock() + max(0.0, wait_seconds)
    retries = _retries(wait_seconds, interval_seconds)
    found = find_soft_deleted(client, target)
    while found is None and retries > 0 and clock() < deadline:
        retries -= 1
        report(f"  not listed as soft-deleted yet; looking again in {interval_seconds:g} s")
        sleep(interval_seconds)
        found = find_soft_deleted(client, target)
    if found is None:
        return PurgeResult("not-found", target)
    report(f"  purging soft-deleted {target.describe()}")
    try:
        poller = client.deleted_accounts.begin_purge(target.location, target.resource_group_name, target.account_name)
        poller.result(timeout=poll_timeout_seconds)
        if hasattr(poller, "done") and not poller.done():
            raise PurgeError(f"the purge of {target.describe()} did not finish within {poll_timeout_seconds:g} s; run teardown again")
    except PurgeError:
        raise
    except Exception as exc:
        if _is_not_found(exc):
            return PurgeResult("not-found", target)
        raise _refusal(exc, forbidden=(
            f"not allowed to purge: the identity needs {REQUIRED_PERMISSION} at subscription scope "
            "(e.g. Cognitive Services Contributor on the subscription)"),
            failed=f"purging the soft-deleted {target.describe()} failed") from None
    return PurgeResult("purged", target)


_DELETED_ACCOUNT_ID = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.CognitiveServices/locations/(?P<loc>[^/]+)"
    r"/resourceGroups/(?P<rg>[^/]+)/deletedAccounts/(?P<name>[^/]+)/?$",
    re.IGNORECASE,
)


def soft_deleted_with_prefix(client: Any, subscription_id: str, resource_group_name: str, name_prefix: str) -> list[PurgeTarget]:
    """Soft-deleted accounts in `resource_group_name` whose name starts with `name_prefix`.

    For a stack whose real account name is not known (its suffix came from a CI runner and no
    output or stack tag recorded it): every account the stack could have made has that prefix.
    Uses `deleted_accounts.list()` (subscription-wide) and keeps the matches, sorted by name.
    """
    if not name_prefix:
        raise ValueError("an empty name prefix would match every soft-deleted account")
    try:
        listed = list(client.deleted_accounts.list())
    except Exception as exc:
        if _is_unauthenticated(exc):
            raise _credentials_error(exc) from None
        if _is_forbidden(exc):
            raise PurgeError(
                f"not allowed to list soft-deleted accounts: the identity needs {REQUIRED_PERMISSION.rsplit('/', 1)[0]}/read "
                f"and /delete at subscription scope (e.g. Cognitive Services Contributor on the subscription): {_first_line(exc)}"
            ) from None
        raise PurgeError(f"listing the soft-deleted accounts of subscription {subscription_id} failed: {_first_line(exc)}") from None
    found: dict[tuple[str, str], PurgeTarget] = {}
    for account in listed:
        m = _DELETED_ACCOUNT_ID.match(getattr(account, "id", None) or "")
        if not m or m.group("rg").lower() != resource_group_name.lower():
            continue
        name = getattr(account, "name", None) or m.group("name")
        if not name.lower().startswith(name_prefix.lower()):
            continue
        location = normalize_location(getattr(account, "location", None) or m.group("loc"))
        found[(location, name.lower())] = PurgeTarget(subscription_id, location, m.group("rg"), name)
    return [found[k] for k in sorted(found, key=lambda k: (k[1], k[0]))]


def purge_by_prefix(
    client: Any,
    subscription_id: str,
    resource_group_name: str,
    name_prefix: str,
    *,
    wait_seconds: float = 0.0,
    interval_seconds: float = 10.0,
    report: Callable[[str], None] = lambda _msg: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[PurgeResult]:
    """Purge every soft-deleted account `soft_deleted_with_prefix` finds; [] when there is none.

    `wait_seconds` > 0 keeps listing for that long while nothing matches (a just-deleted account
    takes a moment to show as deleted).
    """
    deadline = clock() + max(0.0, wait_seconds)
    retries = _retries(wait_seconds, interval_seconds)
    targets = soft_deleted_with_prefix(client, subscription_id, resource_group_name, name_prefix)
    while not targets and retries > 0 and clock() < deadline:
        retries -= 1
        report(f"  nothing soft-deleted named {name_prefix}* yet; looking again in {interval_seconds:g} s")
        sleep(interval_seconds)
        targets = soft_deleted_with_prefix(client, subscription_id, resource_group_name, name_prefix)
    return [purge_soft_deleted(client, t, report=report, sleep=sleep, clock=clock) for t in targets]


def default_client(subscription_id: str) -> Any:
    """CognitiveServicesManagementClient with DefaultAzureCredential (env, workload identity, CLI…)."""
    from azure.identity import DefaultAzureCredential
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    return CognitiveServicesManagementClient(DefaultAzureCredential(), subscription_id)


def purge_after_delete(
    client_factory: Callable[[str], Any] = default_client,
    *,
    wait_seconds: float = 60.0,
    log: Optional[Callable[[str], None]] = None,
) -> Callable[[Any], None]:
    """A Pulumi `after_delete` hook function that purges the deleted account.

    Attach it only on ephemeral/test stacks, e.g. in the account's ResourceOptions:
    `hooks=pulumi.ResourceHookBinding(after_delete=[pulumi.ResourceHook("purge-soft-deleted", purge_after_delete())])`.
    Hooks run on delete only under `pulumi destroy --run-program` (or an `up` that deletes).
    """

    def hook(args: Any) -> None:
        outputs = getattr(args, "old_outputs", None) or {}
        account_id = getattr(args, "id", None) or outputs.get("id", "")
        location = outputs.get("location", "")
        target = target_from_account_id(account_id, location)
        say = log or (lambda _m: None)
        result = purge_soft_deleted(client_factory(target.subscription_id), target, wait_seconds=wait_seconds, report=say)
        say(f"{'purged' if result.purged else 'nothing soft-deleted to purge for'} {target.describe()}")

    return hook
