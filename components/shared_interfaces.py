"""The shapes every component shares, after the Azure Verified Modules' "interfaces":
a management lock, a diagnostic setting and role assignments on a resource.

Builders, not components: each declares provider resources (typed Args) on a given scope and
returns them. Callers decide the parent; a lock is never a child of the resource it guards, so
Pulumi's `protect` on that resource is not inherited by the lock (lifting a lock stays a config
change). Pure helpers (role ids, assignment names) are separate functions of plain data.
"""

from __future__ import annotations

import uuid
from typing import Optional, Sequence

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
         child_path: str = "") -> authorization.ManagementLockByScope:
    """A CanNotDelete lock scoped to `target` (or to `target`'s child at `child_path`, e.g. a DNS
    zone's `SOA/@`). The target's id is a property dependency: the lock is created after the target
    and deleted before it."""
    return authorization.ManagementLockByScope(
        name,
        scope=target.id.apply(lambda rid: f"{rid}/{child_path}" if child_path else rid),
        level=LOCK_LEVEL,
        lock_name=f"keep-{name}"[:90],
        notes=notes[:512],
        opts=pulumi.ResourceOptions(parent=parent),
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


def role_assignments(name: str, target: pulumi.CustomResource, scope_key: str, principal_ids: Sequence[str],
                     role_id: str, description: str, parent: pulumi.Resource) -> list[authorization.RoleAssignment]:
    """One assignment of built-in role `role_id` per service principal, scoped to `target` only."""
    definition = target.id.apply(lambda rid: role_definition_id(subscription_of(rid), role_id))
    return [
        authorization.RoleAssignment(
            f"{name}-{i}",
            scope=target.id,
            role_assignment_name=role_assignment_name(scope_key, principal, role_id),
            role_definition_id=definition,
            principal_id=principal,
            principal_type="ServicePrincipal",
            description=description,
            opts=pulumi.ResourceOptions(parent=parent),
        )
        for i, principal in enumerate(principal_ids)
    ]
