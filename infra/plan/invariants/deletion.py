"""What may be deleted, and in which order: prod-lifecycle stacks lock what they must (and other
stacks nothing, or teardown would meet the lock), each lock goes before what it blocks, and the
managed certificate goes before the records it depends on.
"""

from __future__ import annotations

from typing import Iterable

from components.dns_records import VERIFICATION_LABEL
from components.shared_interfaces import LOCK_LEVEL, ZONE_LOCK_PATH
from infra.plan import delete_order, locks as lock_rules
from infra.plan.invariants.inputs import T_ACCOUNT, T_ENDPOINT, T_LOCK, T_RECORD, T_ZONE, finding
from infra.plan.model import Evaluation, Finding


def _lock_targets(ev: Evaluation) -> dict[str, str]:
    """What prod must lock: label → ARM id suffix of the target."""
    targets: dict[str, str] = {}
    for account in ev.by_type(T_ACCOUNT):
        targets["the Face account"] = f"/accounts/{account.inputs.get('accountName')}"
    for pe in ev.by_type(T_ENDPOINT):
        targets["the private endpoint"] = f"/privateEndpoints/{pe.inputs.get('privateEndpointName')}"
    for zone in ev.by_type(T_ZONE):
        targets["the public zone"] = f"/dnszones/{zone.inputs.get('zoneName')}/{ZONE_LOCK_PATH}"
    for record in ev.by_type(T_RECORD):
        rel = str(record.inputs.get("relativeRecordSetName", ""))
        is_verification = rel == VERIFICATION_LABEL or rel.startswith(VERIFICATION_LABEL + ".")
        if record.inputs.get("recordType") == "TXT" and is_verification:
            targets["the verification record"] = f"/dnszones/{record.inputs.get('zoneName')}/TXT/{rel}"
    return targets


def check_locks(ev: Evaluation) -> Iterable[Finding]:
    inv = "management-locks"
    locks = ev.by_type(T_LOCK)
    if not ev.settings.prod_like:
        for lock in locks:
            yield finding(inv, f"a {ev.settings.lifecycle} stack must carry no management lock (teardown would meet it)",
                          lock.name)
        return
    if not ev.settings.operations.management_locks:
        return  # lifted explicitly with managementLocks: false
    scopes = [str(lock.inputs.get("scope", "")) for lock in locks if lock.inputs.get("level") == LOCK_LEVEL]
    for label, suffix in _lock_targets(ev).items():
        if not any(scope.endswith(suffix) for scope in scopes):
            yield finding(inv, f"{label} needs a {LOCK_LEVEL} lock in a prod lifecycle stack")


def check_lock_dependencies(ev: Evaluation) -> Iterable[Finding]:
    """Each lock depends on all it blocks, so Pulumi (dependents first) deletes it before them."""
    for lock, blocked in lock_rules.lock_dependency_problems(ev.resources):
        yield finding(lock_rules.LOCK_DEPENDENCIES, (
            f"{lock} blocks the delete of {blocked} but does not depend on it: Pulumi may delete {blocked} "
            "while the lock holds, and Azure refuses"), lock)


def check_certificate_teardown(ev: Evaluation) -> Iterable[Finding]:
    for cert, message in delete_order.certificate_teardown_problems(ev.resources):
        yield finding("teardown-order", message, cert)
