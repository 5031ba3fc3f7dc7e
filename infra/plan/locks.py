"""What a management lock makes Azure refuse to delete, and whether a plan deletes it anyway (pure).

A CanNotDelete lock applies to its scope and everything below it (child resources, and extension
resources such as diagnostic settings and role assignments, whose ids extend the scope), stops the
delete of the parent that would take the locked child with it (a zone locked through its SOA record
set), and stops the delete of a private endpoint connected to the locked resource (deleting the
endpoint deletes a connection on it). Sources: Microsoft's "Lock your resources to protect your
infrastructure" (https://learn.microsoft.com/azure/azure-resource-manager/management/lock-resources)
and the Management Locks REST reference ("When you apply a lock at a parent scope, all child
resources inherit the same lock": https://learn.microsoft.com/rest/api/resources/management-locks).

Two uses: the invariant that every lock depends on all it blocks (so Pulumi, which deletes
dependents first, removes the lock before any of them), and the `plan --base` check that names a
delete or replacement under a lock that stays, with the two-step way through.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence

from infra.plan import arm_ids, delete_order
from infra.plan.model import PROJECT

T_LOCK = "azure-native:authorization:ManagementLockByScope"
T_ENDPOINT = "azure-native:network:PrivateEndpoint"
LOCKED_CHANGE = "lock-blocks-change"
LOCK_DEPENDENCIES = "lock-dependencies"


def _scope(lock: Any) -> str:
    return str(lock.inputs.get("scope") or "").rstrip("/").lower()


def blocks(lock: Any, resource: Any) -> bool:
    """Whether `lock` makes Azure refuse to delete `resource` (both planned: type, name, inputs)."""
    scope = _scope(lock)
    if not scope or resource.type == T_LOCK:
        return False
    rid = arm_ids.arm_id(resource.type, resource.name, resource.inputs).rstrip("/").lower()
    if rid == scope or rid.startswith(scope + "/"):
        return True  # the target, its children, its extension resources
    if scope.startswith(rid + "/"):
        return True  # a parent whose delete takes the locked child with it (a zone, its group)
    if resource.type == T_ENDPOINT:
        connections = [*(resource.inputs.get("privateLinkServiceConnections") or []),
                       *(resource.inputs.get("manualPrivateLinkServiceConnections") or [])]
        for c in connections:
            target = str((c or {}).get("privateLinkServiceId") or "").rstrip("/").lower()
            if target and (target == scope or target.startswith(scope + "/")):
                return True  # deleting the endpoint deletes its connection on the locked resource
    return False


def lock_dependency_problems(resources: Sequence[Any]) -> list[tuple[str, str]]:
    """(lock, blocked resource) for each custom resource a lock blocks without depending on it."""
    problems = []
    for lock in (r for r in resources if r.type == T_LOCK):
        for r in resources:
            if getattr(r, "custom", True) and r is not lock and blocks(lock, r) \
                    and not delete_order.depends_on(list(resources), lock.name, r.name):
                problems.append((lock.name, r.name))
    return problems


def urn(resources: Sequence[Any], resource: Any, stack: str) -> str:
    """The resource's URN, from its parent chain in the same plan (the Stack itself is no parent)."""
    by_name = {r.name: r for r in resources}
    types, seen = [resource.type], {resource.name}
    parent = by_name.get(resource.parent or "")
    while parent is not None and parent.name not in seen:
        seen.add(parent.name)
        types.insert(0, parent.type)
        parent = by_name.get(parent.parent or "")
    return f"urn:pulumi:{stack}::{PROJECT}::{'$'.join(types)}::{resource.name}"


def _replaced(resource: Any, paths: Iterable[str]) -> bool:
    """A change to an input that names the resource (or its location) replaces it."""
    fixed = set(arm_ids.id_inputs(resource.type))
    return any(p.split(".")[0].split("[")[0] in fixed for p in paths)


def _two_steps(unprotect: list[str]) -> str:
    first = "".join(f"`pulumi state unprotect '{u}'`, " for u in unprotect)
    return (f"two steps: (1) on the config before this change, {first}set `liveness:managementLocks false` and "
            "`pulumi up` (the locks go); (2) apply this change with `pulumi up`, then set `liveness:managementLocks "
            "true` and `pulumi up` to lock again")


def locked_changes(base: Sequence[Any], removed: Iterable[Any], changed: Iterable[Any], stack: str) -> list[tuple[str, str]]:
    """(resource, message) for each delete or replacement Azure would refuse because a lock of the
    base plan stays, and for each protected lock the change removes (Pulumi refuses that delete).

    `removed` are base resources the head drops; `changed` carry (type, name, paths)."""
    base = list(base)
    gone = {(r.type, r.name) for r in removed}
    changes = {(c.type, c.name): c.paths for c in changed}
    locks = [r for r in base if r.type == T_LOCK]
    out: list[tuple[str, str]] = []
    for lock in locks:
        if (lock.type, lock.name) in gone and lock.protect:
            out.append((lock.name, (
                f"lock {lock.name} is protected: `pulumi up` refuses to delete it until "
                f"`pulumi state unprotect '{urn(base, lock, stack)}'` has run")))
    staying = [lock for lock in locks if (lock.type, lock.name) not in gone]
    for r in base:
        holding = [lock for lock in staying if blocks(lock, r)]
        if not holding:
            continue
        key = (r.type, r.name)
        what: Optional[str] = "deleted" if key in gone else ("replaced" if key in changes and _replaced(r, changes[key]) else None)
        if what is None:
            continue
        names = ", ".join(f"{lock.name} ({lock.inputs.get('lockName')})" for lock in holding)
        protected = [urn(base, lock, stack) for lock in locks if lock.protect]
        out.append((r.name, (
            f"{r.type.rsplit(':', 1)[-1]} {r.name} would be {what}, but lock {names} stays: Azure refuses "
            f"the delete (ScopeLocked); {_two_steps(protected)}")))
    return out
