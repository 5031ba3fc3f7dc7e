"""The shapes every component shares, after the Azure Verified Modules' "interfaces":
a management lock, a diagnostic setting and role assignments on a resource.

The Args shapes (LockArgs, DiagnosticSettingArgs, RoleAssignmentArgs) are fields of the component
a resource belongs to, as in the Azure Verified Modules, so users of the component package get them
too. The builders declare provider resources (typed Args) on a given scope and return them. A lock is
never a child of the resource it guards (the guarded resource's `protect` is not inherited), and it
depends on everything it blocks: Pulumi deletes dependents first, so whenever the lock and a blocked
resource both go, the lock goes first (docs/operations.md, "Management locks"). Pure helpers (role
ids, assignment names) are separate functions of plain data.
"""

# No `from __future__ import annotations`: the component provider reads the Args annotations as types.
import functools
import uuid
from typing import NotRequired, Optional, Sequence, TypedDict

import pulumi
from pulumi_azure_native import authorization, monitor

LOCK_LEVEL = "CanNotDelete"
# A zone is locked through its SOA record set: deleting the zone deletes the SOA, so the lock stops
# it, while every other record set stays deletable (a lock on the zone itself is inherited by all
# record sets). Microsoft's "How to protect DNS zones and records" (articles/dns/
# dns-protect-zones-recordsets.md, "Protecting against zone deletion").
ZONE_LOCK_PATH = "SOA/@"
# Built-in role "Cognitive Services Face Recognizer": detect, verify, liveness and the
# `accounts/Face/*/sessions/*` data actions (create/read/delete liveness sessions); no control
# plane actions, no keys. "Cognitive Services User" would add every Cognitive Services data action
# and listKeys. Source: MicrosoftDocs/azure-docs, articles/role-based-access-control/built-in-roles/
# ai-machine-learning.md.
FACE_RECOGNIZER_ROLE_ID = "9894cab4-e18a-44aa-828b-cb588cd6f2d7"
FACE_LOG_CATEGORIES = ("Audit", "RequestResponse")
ALL_METRICS = "AllMetrics"
_NAMESPACE = uuid.UUID("4f1f7c55-5bd4-4c55-9b0c-2c3f0a7d6e10")  # fixed: assignment names stay stable
LOCK_KINDS = (LOCK_LEVEL, "None")


class LockArgs(TypedDict):
    """A management lock on the component's deletable resources (AVM `lock`)."""

    kind: NotRequired[str]
    """CanNotDelete, or None for no lock; default CanNotDelete."""
    notes: NotRequired[str]
    """Why the lock is there and how to lift it (at most 512 characters); default none."""
    protect: NotRequired[bool]
    """Pulumi-protect the locks too, so a destroy stops at them until they are unprotected; default true."""


class DiagnosticSettingArgs(TypedDict):
    """Where the resource's logs and metrics go (AVM `diagnosticSettings`)."""

    workspace_id: pulumi.Input[str]
    """ARM id of the Log Analytics workspace."""
    name: NotRequired[str]
    """Name of the setting; default to-log-analytics."""
    log_categories: NotRequired[list[str]]
    """Log categories to send; default the component's (Audit and RequestResponse for the account)."""


class RoleAssignmentArgs(TypedDict):
    """A built-in role for a principal, scoped to the resource only (AVM `roleAssignments`)."""

    principal_id: str
    """Object id of the principal (managed identity, app registration)."""
    role_definition_id: str
    """GUID of the built-in role, e.g. 9894cab4-e18a-44aa-828b-cb588cd6f2d7 (Cognitive Services Face Recognizer)."""
    principal_type: NotRequired[str]
    """ServicePrincipal, User or Group; default ServicePrincipal."""
    description: NotRequired[str]
    """Why the principal holds the role; default none."""


def lock_wanted(lock_args: Optional[LockArgs]) -> bool:
    return lock_args is not None and bool(lock_args) and lock_args.get("kind", LOCK_LEVEL) == LOCK_LEVEL


def _role_in_subscription_of(role_id: str, resource_id: str) -> str:
    return role_definition_id(subscription_of(resource_id), role_id)


def role_definition_id(subscription_id: str, role_id: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def subscription_of(resource_id: str) -> str:
    """`/subscriptions/<id>/...` → `<id>`."""
    parts = resource_id.split("/")
    if len(parts) < 3 or parts[1].lower() != "subscriptions" or not parts[2]:
        raise ValueError(f"not an ARM resource id: {resource_id!r}")
    return parts[2]


def role_assignment_name(scope_key: str, principal_id: str, role_id: str) -> str:
    """A GUID that is the same on every run for (scope, principal, role): no spurious replacement."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope_key.lower()}|{principal_id.lower()}|{role_id.lower()}"))


def lock(name: str, target: pulumi.CustomResource, notes: str, parent: pulumi.Resource,
         child_path: str = "", blocks: Sequence[pulumi.Resource] = (), protect: bool = False) -> authorization.ManagementLockByScope:
    """A CanNotDelete lock scoped to `target` (or to `target`'s child at `child_path`, e.g. a DNS
    zone's `SOA/@`). The target's id is a property dependency, and `blocks` (what else the lock stops
    Azure from deleting: extension resources on the target, children, a private endpoint connected
    to it) are explicit ones: the lock is created after all of them and deleted before any of them."""
    return authorization.ManagementLockByScope(
        name,
        scope=target.id.apply(lambda rid: f"{rid}/{child_path}" if child_path else rid),
        level=LOCK_LEVEL,
        lock_name=f"keep-{name}"[:90],
        notes=notes[:512],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(blocks), protect=protect),
    )


def diagnostic_setting(name: str, target: pulumi.CustomResource, workspace_id: pulumi.Input[str],
                       log_categories: Sequence[str], parent: pulumi.Resource,
                       setting_name: Optional[str] = None) -> monitor.DiagnosticSetting:
    """Send the named log categories and all metrics of `target` to a Log Analytics workspace."""
    return monitor.DiagnosticSetting(
        name,
        resource_uri=target.id,
        name=setting_name or "to-log-analytics",
        workspace_id=workspace_id,
        logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in log_categories],
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category=ALL_METRICS, enabled=True)],
        opts=pulumi.ResourceOptions(parent=parent),
    )


def role_assignments(name: str, target: pulumi.CustomResource, scope_key: str, assignments: Sequence[RoleAssignmentArgs],
                     parent: pulumi.Resource, former_name: str = "") -> list[authorization.RoleAssignment]:
    """One assignment per entry, scoped to `target` only; `former_name` aliases `<former_name>-<i>`."""
    out = []
    for i, a in enumerate(assignments):
        role_id = a["role_definition_id"]
        aliases = [pulumi.Alias(name=f"{former_name}-{i}")] if former_name else None
        out.append(authorization.RoleAssignment(
            f"{name}-{i}",
            scope=target.id,
            role_assignment_name=role_assignment_name(scope_key, a["principal_id"], role_id),
            role_definition_id=target.id.apply(functools.partial(_role_in_subscription_of, role_id)),
            principal_id=a["principal_id"],
            principal_type=a.get("principal_type", "ServicePrincipal"),
            description=a.get("description"),
            opts=pulumi.ResourceOptions(parent=parent, aliases=aliases),
        ))
    return out
