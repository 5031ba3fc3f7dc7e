"""The URN (and alias URNs) of every resource the program registers, captured offline.

Pulumi identifies a resource in state by its URN: `urn:pulumi:<stack>::<project>::<parent type
chain>$<type>::<name>`. A refactoring that changes a type, a name or a parent's type changes the
URN, and `pulumi up` then deletes and re-creates the resource unless an alias names the old URN.
This wraps the offline evaluation's monitor to record each URN and the URNs its aliases stand for,
so tests can compare them with the URNs recorded before the components were refactored
(tests/unit/data/urns/*.json).
"""

from __future__ import annotations

import json
from typing import Any, Optional

from infra.plan import offline
from infra.plan.model import PROJECT
# Stack configurations whose URNs are pinned: every stack file plus the modes the files do not use.
VARIANTS: dict[str, dict[str, Any]] = {
    "keyvault-external-dns": {
        "liveness:lifecycle": "test", "liveness:location": "westeurope",
        "liveness:proxyHost": "liveness.dev.contoso.com", "liveness:dnsMode": "external",
        "liveness:proxyCertificateSource": "keyvault",
        "liveness:proxyKeyVaultCertificateUrl": "https://kv-liveness.vault.azure.net/secrets/proxy",
        "liveness:proxyKeyVaultIdentity": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-proxy",  # noqa: E501 -- one resource id / URN / message kept whole so it greps
        "liveness:privateDnsMode": "create",
        "liveness:monitoringEnabled": True,
    },
}
STACKS = ("dev", "staging", "prod", "pr")


def _urn(stack: str, parent_urn: str, typ: str, name: str) -> str:
    """Pulumi's URN: the parent's qualified type (its whole type chain) `$` this type, then the name.

    (The mock monitor's own URNs keep only the parent's last type; the engine keeps the chain.)
    """
    chain = ""
    if parent_urn and "::" in parent_urn:
        parent_chain = parent_urn.split("::")[2]
        if parent_chain != "pulumi:pulumi:Stack":
            chain = parent_chain + "$"
    return f"urn:pulumi:{stack}::{PROJECT}::{chain}{typ}::{name}"


def capture(stack: str, config: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
    """Evaluate a stack file (or `config`) and return [{urn, aliases, type, name}] per resource."""
    captured: list[dict[str, Any]] = []
    real: dict[str, str] = {}  # mock URN → engine URN

    def register(request: Any, response: Any) -> None:
        parent = real.get(request.parent, "")
        urn = _urn(stack, parent, request.type, request.name)
        real[response.urn] = urn
        if request.type != "pulumi:pulumi:Stack":
            aliases = set(request.aliasURNs)
            for alias in request.aliases:
                if alias.urn:
                    aliases.add(alias.urn)
                    continue
                spec = alias.spec
                alias_parent = "" if spec.noParent else real.get(spec.parentUrn, spec.parentUrn) or parent
                aliases.add(_urn(spec.stack or stack, alias_parent, spec.type or request.type, spec.name or request.name))
            captured.append({"urn": urn, "aliases": sorted(aliases), "type": request.type, "name": request.name})

    if config is None:
        offline.evaluate_stack(stack, observe=register)
    else:
        string_config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
        offline.evaluate_config(stack, string_config, observe=register)
    return captured


def all_configurations() -> dict[str, list[dict[str, Any]]]:
    out = {stack: capture(stack) for stack in STACKS}
    out.update({name: capture(name, config) for name, config in VARIANTS.items()})
    return out


if __name__ == "__main__":  # regenerate the pinned URNs: python -m tests.unit.urns
    from pathlib import Path

    target = Path(__file__).parent / "data" / "urns"
    for name, resources in all_configurations().items():
        (target / f"{name}.json").write_text(json.dumps(sorted(r["urn"] for r in resources), indent=1) + "\n")
