"""What an offline evaluation records: planned resources, findings, the evaluation itself.

Plain data shared by the evaluator (infra/plan/offline.py) and the invariant checks
(infra/plan/invariants/), so the checks need not import the evaluator that runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from infra.config.schema import PROJECT_NAME
from infra.config.settings import Settings

PROJECT = PROJECT_NAME  # Pulumi.yaml's name: the project part of every URN
SECRET = "[secret]"  # what a secret input or output is recorded as: its value never reaches a plan


@dataclass
class PlannedResource:
    type: str
    name: str
    parent: Optional[str]
    inputs: dict[str, Any]
    custom: bool = True
    protect: bool = False
    after_delete_hooks: list[str] = field(default_factory=list)
    # Logical names of what this resource depends on (depends_on and input dependencies), and of
    # the resource whose deletion makes Pulumi skip this one's (deleted_with): the delete order.
    dependencies: list[str] = field(default_factory=list)
    deleted_with: Optional[str] = None
    provider: Optional[str] = None  # explicit provider's logical name, None for the default provider

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs}


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning"
    invariant: str
    message: str
    resource: Optional[str] = None

    @property
    def key(self) -> tuple[str, str, Optional[str]]:
        """What makes two findings the same one (severity aside), across a base and a head plan."""
        return (self.invariant, self.message, self.resource)


@dataclass
class Evaluation:
    stack: str
    settings: Settings
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def by_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str) -> PlannedResource:
        found = self.by_type(type_token)
        if len(found) != 1:
            raise AssertionError(f"expected exactly one {type_token}, found {len(found)}")
        return found[0]

    def named(self, name: str) -> PlannedResource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)
