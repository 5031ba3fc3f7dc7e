"""Stand-ins that record calls: the Pulumi CLI runner and the Azure Cognitive Services client."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Optional

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from infra.lifecycle.pulumi_cli import CommandResult
from infra.stack_outputs import StackReadError

SUBSCRIPTION = "3f2a6c1e-0b7d-4c55-9a1e-7d6b5c4a3f21"


def account_id(name: str, group: str, subscription: str = SUBSCRIPTION) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.CognitiveServices/accounts/{name}"


@dataclass
class FakePulumi:
    """Answers `pulumi` sub-commands from a table; records every call (shared `log`)."""

    log: list
    stacks: list[str] = field(default_factory=list)
    outputs: Any = field(default_factory=dict)  # printed as JSON by `stack output --json`
    tags: dict[str, str] = field(default_factory=dict)
    resource_count: dict[str, int] = field(default_factory=dict)  # stack -> resourceCount in `stack ls`
    fail: dict[str, int] = field(default_factory=dict)  # verb ("destroy", "rm", "ls", "output", "tag") -> exit code
    # What successive `pulumi destroy` runs answer (CommandResults, first first); empty: success.
    destroy_results: list = field(default_factory=list)

    def __call__(self, args, capture):
        args = list(args)
        self.log.append(("pulumi", tuple(args)))
        verb = args[1] if args[0] == "stack" else args[0]
        if verb in self.fail:
            return CommandResult(self.fail[verb], "", f"error: {verb} failed for the test")
        if verb == "destroy" and self.destroy_results:
            return self.destroy_results.pop(0)
        if args[:2] == ["stack", "ls"]:
            listing = []
            for s in self.stacks:
                entry = {"name": s, "current": False}
                if s.rsplit("/", 1)[-1] in self.resource_count:
                    entry["resourceCount"] = self.resource_count[s.rsplit("/", 1)[-1]]
                listing.append(entry)
            return CommandResult(0, json.dumps(listing), "")
        if args[:2] == ["stack", "output"]:
            return CommandResult(0, json.dumps(self.outputs), "")
        if args[:3] == ["stack", "tag", "ls"]:
            return CommandResult(0, json.dumps(self.tags), "")
        if args[:3] == ["stack", "tag", "set"]:
            self.tags[args[3]] = args[4]
        return CommandResult(0, "", "")


@dataclass
class FakeStackReader:
    """The stack reader of infra/stack_outputs.py, answered from a FakePulumi's table and logged as
    the CLI commands the Automation API runs for it."""

    pulumi: FakePulumi

    def _read(self, args: list[str]) -> Any:
        done = self.pulumi(args, True)
        try:
            value = json.loads(done.stdout) if done.returncode == 0 else None
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise StackReadError(f"`pulumi {' '.join(args)}` failed or printed no JSON object")
        return value

    def outputs(self, stack, *, secrets=True):
        return self._read(["stack", "output", "--json", *(["--show-secrets"] if secrets else []), "--stack", stack])

    def tags(self, stack):
        return self._read(["stack", "tag", "ls", "--json", "--stack", stack])

    def tag(self, stack, name):
        return self.pulumi.tags.get(name)


class _Poller:
    def __init__(self, log: list, error: Optional[Exception] = None):
        self.log, self.error, self._done = log, error, False

    def result(self, timeout=None):
        self.log.append(("poller.result", timeout))
        if self.error:
            raise self.error
        self._done = True

    def done(self):
        return self._done


class FakeDeletedAccounts:
    def __init__(self, log: list, soft_deleted: set, appear_after: int = 0, get_error=None, purge_error=None,
                 subscription_id: str = SUBSCRIPTION):
        self.log, self.subscription_id = log, subscription_id
        self.soft_deleted = soft_deleted  # {(location, group, name)}
        self.appear_after = appear_after  # this many lookups say "not found" first
        self.get_error, self.purge_error = get_error, purge_error
        self.lookups = 0

    def get(self, location, resource_group_name, account_name):
        self.log.append(("deleted_accounts.get", location, resource_group_name, account_name))
        self.lookups += 1
        if self.get_error:
            raise self.get_error
        if (location, resource_group_name, account_name) in self.soft_deleted and self.lookups > self.appear_after:
            return {"name": account_name, "location": location}
        raise ResourceNotFoundError("The resource was not found.")

    def list(self):
        """Every soft-deleted account of the subscription, as the SDK's Account models (id, name, location)."""
        self.log.append(("deleted_accounts.list",))
        self.lookups += 1
        if self.get_error:
            raise self.get_error
        if self.lookups <= self.appear_after:
            return iter([])
        return iter(
            SimpleNamespace(
                id=f"/subscriptions/{self.subscription_id}/providers/Microsoft.CognitiveServices/locations/{loc}"
                   f"/resourceGroups/{group}/deletedAccounts/{name}",
                name=name, location=loc, type="Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts",
            )
            for loc, group, name in sorted(self.soft_deleted)
        )

    def begin_purge(self, location, resource_group_name, account_name):
        self.log.append(("deleted_accounts.begin_purge", location, resource_group_name, account_name))
        return _Poller(self.log, self.purge_error)


class FakeCognitiveClient:
    def __init__(self, log: list, subscription_id: str, **kwargs):
        self.subscription_id = subscription_id
        self.deleted_accounts = FakeDeletedAccounts(log, subscription_id=subscription_id, **kwargs)


def forbidden(message: str = "AuthorizationFailed") -> HttpResponseError:
    err = HttpResponseError(message=message)
    err.status_code = 403
    return err


def no_credentials() -> Exception:
    """What DefaultAzureCredential raises when no credential in its chain can get a token."""
    from azure.identity import CredentialUnavailableError

    return CredentialUnavailableError(message="DefaultAzureCredential failed to retrieve a token from the included credentials.")
