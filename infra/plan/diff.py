"""What changes between two plans (resources added, removed, changed by input path), which findings
are new, and the key settings a reviewer sees first. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from infra.plan.model import Finding
from infra.plan.normalize import ABSENT, Resource, as_resources, flatten


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ChangedResource:
    type: str
    name: str
    changes: tuple[Change, ...]

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]


@dataclass
class PlanDiff:
    added: list[Resource] = field(default_factory=list)
    removed: list[Resource] = field(default_factory=list)
    changed: list[ChangedResource] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> str:
        return f"{len(self.added)} to add, {len(self.changed)} to change, {len(self.removed)} to remove"

    def as_json(self) -> dict[str, Any]:
        return {
            "added": [{"type": r.type, "name": r.name} for r in self.added],
            "changed": [
                {
                    "type": c.type,
                    "name": c.name,
                    "changes": [{"path": x.path, "before": _jsonable(x.before), "after": _jsonable(x.after)} for x in c.changes],
                }
                for c in self.changed
            ],
            "removed": [{"type": r.type, "name": r.name} for r in self.removed],
            "unchanged": self.unchanged,
        }


def _jsonable(value: Any) -> Any:
    return None if value is ABSENT else value


def _keyed(resources: Sequence[Resource]) -> dict[tuple[str, str], Resource]:
    """Resources by (type, name); a repeated pair gets its parent added to tell them apart."""
    counts: dict[tuple[str, str], int] = {}
    for r in resources:
        counts[r.key] = counts.get(r.key, 0) + 1
    out: dict[tuple[str, str], Resource] = {}
    for r in resources:
        key = r.key if counts[r.key] == 1 else (r.type, f"{r.name} (in {r.parent})")
        out[key] = r
    return out


def same_value(a: Any, b: Any) -> bool:
    """Whether two leaves are the same input.

    Numbers compare by value (an older ref may render 300 as 300.0: no change), but a bool is
    never a number (True == 1 in Python, not in the provider's JSON); otherwise types must match.
    """
    a_bool, b_bool = isinstance(a, bool), isinstance(b, bool)
    if a_bool or b_bool:
        return a_bool and b_bool and a == b
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return a == b
    return type(a) is type(b) and a == b


def resource_changes(before: Resource, after: Resource) -> list[Change]:
    changes: list[Change] = []
    if before.parent != after.parent:
        changes.append(Change("(parent)", before.parent, after.parent))
    if before.protect != after.protect:
        changes.append(Change("(protect)", before.protect, after.protect))
    old, new = flatten(before.inputs), flatten(after.inputs)
    for path in list(old) + [p for p in new if p not in old]:
        a, b = old.get(path, ABSENT), new.get(path, ABSENT)
        if not same_value(a, b):
            changes.append(Change(path, a, b))
    return changes


def diff_plans(base: Iterable[Any], head: Iterable[Any]) -> PlanDiff:
    """What applying `head` over `base` adds, changes and removes, by (type, logical name)."""
    old = _keyed(as_resources(base))
    new = _keyed(as_resources(head))
    diff = PlanDiff()
    for key, r in new.items():
        if key not in old:
            diff.added.append(Resource(r.type, key[1], r.parent, r.inputs, r.protect))
            continue
        changes = resource_changes(old[key], r)
        if changes:
            diff.changed.append(ChangedResource(key[0], key[1], tuple(changes)))
        else:
            diff.unchanged += 1
    for key, r in old.items():
        if key not in new:
            diff.removed.append(Resource(r.type, key[1], r.parent, r.inputs, r.protect))
    return diff


def new_findings(base: Iterable[Finding], head: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(findings only in head, findings only in base)."""
    b = {f.key for f in base}
    h = {f.key for f in head}
    return [f for f in head if f.key not in b], [f for f in base if f.key not in h]


def key_settings(settings: Any) -> list[tuple[str, str]]:
    """The handful of settings a reviewer wants first, as (label, value) pairs."""
    s = settings
    face, proxy, dns, reg = s.face, s.proxy, s.dns, s.registration
    rows = [
        ("lifecycle", f"{s.lifecycle} ({'protected, teardown refused' if s.lifecycle == 'prod' else 'may be torn down'})"),
        ("location", s.location),
        ("resource group", s.resource_group_name),
        ("face account", f"{face.account_name} ({face.kind} {face.sku})"),
        ("face endpoint", face.endpoint_host),
        ("private DNS", face.private_dns_mode),
        ("key auth", "disabled" if face.disable_local_auth else "ENABLED"),
        ("account IP rules", ", ".join(face.ip_rules) if face.ip_rules else "none"),
        ("proxy host", proxy.host),
        ("proxy image", proxy.image),
        ("proxy replicas", f"{proxy.min_replicas}..{proxy.max_replicas}"),
        ("proxy certificate", proxy.certificate_source
         + (f" ({proxy.domain_binding})" if proxy.certificate_source == "managed" else "")),
        ("browser preflight", "allowed" if proxy.allow_browser_preflight else "refused"),
        ("public DNS", dns.mode + (f" zone {dns.zone_name}" if dns.zone_name else "")),
        ("registration", reg.state + (" (verification code set)" if reg.verification_code_configured else "")),
    ]
    return [(label, str(value)) for label, value in rows]

