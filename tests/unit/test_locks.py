"""Locks that protect without blocking: every lock depends on all it makes Azure refuse to delete,
and `plan --base` names a delete or replacement under a lock that stays, with the way through.

The base and head plans here are two offline evaluations of prod-like configs (the mock runtime),
diffed as `liveness-infra plan --base` diffs them."""

from __future__ import annotations

import copy

import pytest

from infra.plan import locks
from infra.plan import diff as plan_diff
from infra.plan import normalize as plan_normalize
from infra.plan.invariants.checks import check_invariants
from tests.unit.conftest import evaluate, verifying

PRINCIPAL = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
PROD = {"liveness:lifecycle": "prod", "liveness:dnsMode": "create", "liveness:faceAllowedClientCidrs": ["10.60.1.0/24"]}


def _locked_changes(base_ev, head_ev, stack="unit"):
    base = plan_normalize.as_resources(base_ev.resources)
    diff = plan_diff.diff_plans(base, plan_normalize.as_resources(head_ev.resources))
    return locks.locked_changes(base, diff.removed, diff.changed, stack)


# --- what a lock blocks, and the invariant that it depends on all of it ------------------------

def test_the_account_lock_blocks_its_extension_resources_and_the_endpoint():
    ev = verifying({**PROD, "liveness:faceAppServerPrincipalIds": [PRINCIPAL]})
    lock = ev.named("face-account-lock")
    blocked = {r.name for r in ev.resources if locks.blocks(lock, r)}
    assert {"face-account", "face-diagnostics", "face-role-0", "face-pe", "rg"} <= blocked
    assert "proxy-app" not in blocked and "face-pe-zone-group" not in blocked
    # The zone is locked through its SOA: the zone is blocked, its other record sets are not.
    zone_lock = ev.named("dns-zone-lock")
    assert locks.blocks(zone_lock, ev.named("dns-zone")) and not locks.blocks(zone_lock, ev.named("dns-cname"))


@pytest.mark.parametrize("lock, dropped", [
    ("face-account-lock", "face-role-0"),
    ("face-account-lock", "face-diagnostics"),
    ("face-account-lock", "face-pe"),
    ("face-pe-lock", "face-pe-zone-group"),
])
def test_a_lock_that_does_not_depend_on_what_it_blocks_is_reported(lock, dropped):
    ev = verifying({**PROD, "liveness:faceAppServerPrincipalIds": [PRINCIPAL]})
    assert check_invariants(ev) == []
    mutated = copy.deepcopy(ev)
    mutated.named(lock).dependencies.remove(dropped)
    findings = [f for f in check_invariants(mutated) if f.invariant == locks.LOCK_DEPENDENCIES]
    assert [(f.resource, dropped in f.message) for f in findings] == [(lock, True)]


# --- plan --base: a change Azure would refuse under a lock -------------------------------------

def test_removing_an_app_server_principal_in_prod_names_resource_lock_and_way_through():
    base = evaluate({**PROD, "liveness:faceAppServerPrincipalIds": [PRINCIPAL]})
    head = evaluate(PROD)
    (found,) = _locked_changes(base, head)
    name, message = found
    assert name == "face-role-0"
    assert "RoleAssignment face-role-0 would be deleted" in message
    assert "face-account-lock (keep-face-account-lock)" in message
    assert "`liveness:managementLocks false`" in message and message.count("`pulumi up`") == 3
    # The locks are protected: step one unprotects each, by URN.
    assert ("`pulumi state unprotect 'urn:pulumi:unit::face-liveness-isolation::"
            "liveness:face:FaceAccount$azure-native:authorization:ManagementLockByScope::face-account-lock'`") in message


def test_switching_private_dns_mode_deletes_the_zone_group_under_the_endpoint_lock():
    base = evaluate(PROD)
    head = evaluate({**PROD, "liveness:privateDnsMode": "policy"})
    found = dict(_locked_changes(base, head))
    assert set(found) == {"face-pe-zone-group"}
    assert "face-pe-lock (keep-face-pe-lock)" in found["face-pe-zone-group"]


def test_a_replacement_under_a_lock_is_named():
    base = evaluate(PROD)
    head = evaluate({**PROD, "liveness:faceCustomSubdomain": "fl-unit-face-2"})
    found = dict(_locked_changes(base, head))
    assert "Account face-account would be replaced" in found["face-account"]


def test_lifting_protected_locks_says_to_unprotect_them_first():
    base = evaluate(PROD)
    head = evaluate({**PROD, "liveness:managementLocks": False})
    found = dict(_locked_changes(base, head))
    assert set(found) == {"face-account-lock", "face-pe-lock", "dns-zone-lock"}
    assert "pulumi state unprotect" in found["face-pe-lock"]


@pytest.mark.parametrize("extra", [{"liveness:managementLocks": False}, {"liveness:lifecycle": "test"}])
def test_no_lock_no_finding(extra):
    """Controls: the same removals pass once the locks are lifted, or where there are none."""
    base = evaluate({**PROD, **extra, "liveness:faceAppServerPrincipalIds": [PRINCIPAL]})
    head = evaluate({**PROD, **extra, "liveness:privateDnsMode": "policy"})
    assert _locked_changes(base, head) == []
