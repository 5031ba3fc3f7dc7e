"""What `pulumi destroy` does with the stack, derived from the declared resource options (pure).

Pulumi deletes a resource only after every resource that depends on it (its children, the
resources naming it in `depends_on` or taking one of its outputs as input, and those declared
`deleted_with` it) is gone; a resource whose `deleted_with` target is deleted in the same
operation is not deleted itself (no provider call): https://www.pulumi.com/docs/iac/concepts/
resources/options/deletedwith/. Two deletes with no dependency path between them may run in
either order, or at once.

The certificate rule: Azure refuses to delete a Container Apps certificate while a
hostname is bound to it (`CertificateInUse`; hashicorp/terraform-provider-azurerm#21866). A managed
certificate must depend on the app (the hostname has to exist before the certificate can be
issued), so a plain destroy deletes it first, while the app still binds it. Deleting the managed
environment deletes the certificates inside it, so declaring the certificate `deleted_with` the
environment — which the app depends on, so it is deleted after the app — removes that delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Optional

if TYPE_CHECKING:  # pragma: no cover
    from infra.plan.model import PlannedResource

T_APP = "azure-native:app:ContainerApp"
T_ENV = "azure-native:app:ManagedEnvironment"
T_MANAGED_CERT = "azure-native:app:ManagedCertificate"
T_ENV_CERT = "azure-native:app:Certificate"


@dataclass(frozen=True)
class DeleteStep:
    name: str
    type: str
    skipped_because: Optional[str] = None  # the deleted_with target deleted in the same operation

    @property
    def deleted(self) -> bool:
        return self.skipped_because is None


def _edges(resources: Iterable["PlannedResource"]) -> dict[str, set[str]]:
    """name → names it depends on (parent, dependencies, deleted_with)."""
    out: dict[str, set[str]] = {}
    for r in resources:
        deps = set(r.dependencies)
        if r.parent:
            deps.add(r.parent)
        if r.deleted_with:
            deps.add(r.deleted_with)
        out[r.name] = deps
    return out


def depends_on(resources: list["PlannedResource"], dependent: str, dependency: str) -> bool:
    """True when `dependent` reaches `dependency` through dependency edges (so it is deleted first)."""
    edges = _edges(resources)
    seen: set[str] = set()
    stack = [dependent]
    while stack:
        node = stack.pop()
        for nxt in edges.get(node, ()):
            if nxt == dependency:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def destroy_steps(resources: list["PlannedResource"]) -> list[DeleteStep]:
    """A delete order Pulumi may use for a full destroy: dependents before what they depend on
    (ties broken by reverse registration order, as a serial destroy does). Custom resources only."""
    edges = _edges(resources)
    order = {r.name: i for i, r in enumerate(resources)}
    dependents: dict[str, set[str]] = {r.name: set() for r in resources}
    for name, deps in edges.items():
        for dep in deps:
            if dep in dependents:
                dependents[dep].add(name)
    remaining = {r.name for r in resources}
    by_name = {r.name: r for r in resources}
    steps: list[DeleteStep] = []
    while remaining:
        ready = [n for n in remaining if not (dependents[n] & remaining)]
        if not ready:  # a cycle cannot be registered; guard anyway
            raise ValueError(f"dependency cycle among {sorted(remaining)}")
        name = max(ready, key=lambda n: order[n])
        remaining.discard(name)
        r = by_name[name]
        if r.custom:
            steps.append(DeleteStep(name, r.type, r.deleted_with))
    return steps


def _binds(app: "PlannedResource", cert: "PlannedResource") -> bool:
    """Whether `app`'s custom domains bind (or let the platform bind) `cert`."""
    ingress = (app.inputs.get("configuration") or {}).get("ingress") or {}
    props = cert.inputs.get("properties") or {}
    for domain in ingress.get("customDomains") or []:
        cert_id = str(domain.get("certificateId") or "")
        if cert.type == T_MANAGED_CERT:
            if cert_id.endswith(f"/managedCertificates/{cert.inputs.get('managedCertificateName')}"):
                return True
            if domain.get("bindingType") == "Auto" and props.get("subjectName") == domain.get("name"):
                return True
            if domain.get("bindingType") == "Disabled" and props.get("subjectName") == domain.get("name"):
                return True  # the next phase (bound) binds it; the order must hold already
        elif cert_id.endswith(f"/certificates/{cert.inputs.get('certificateName')}"):
            return True
    return False


def certificate_teardown_problems(resources: list["PlannedResource"]) -> list[tuple[str, str]]:
    """(certificate name, why) for each certificate whose delete could meet a bound hostname."""
    problems: list[tuple[str, str]] = []
    by_name = {r.name: r for r in resources}
    apps = [r for r in resources if r.type == T_APP]
    for cert in (r for r in resources if r.type in (T_MANAGED_CERT, T_ENV_CERT)):
        container = by_name.get(cert.deleted_with or "")
        skipped_safely = (
            container is not None and container.type == T_ENV
            and container.inputs.get("environmentName") == cert.inputs.get("environmentName")
        )
        for app in apps:
            if not _binds(app, cert):
                continue
            if skipped_safely and container is not None and depends_on(resources, app.name, container.name):
                continue  # the environment outlives the app and takes the certificate with it
            if not skipped_safely and depends_on(resources, app.name, cert.name):
                continue  # the app is deleted first, releasing the binding
            problems.append((cert.name, (
                f"pulumi destroy would delete certificate {cert.name} while {app.name} may still bind it "
                "(CertificateInUse): declare it deleted_with its managed environment")))
    return problems
