"""The subnets admit only what they must: the apps subnet what Container Apps needs, the endpoints
subnet only the proxy's subnet (and the configured app-server ranges) on 443, then nothing.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from components import nsg_rules
from infra.plan.invariants.inputs import T_NSG, T_SUBNET, finding, get
from infra.plan.model import Evaluation, Finding, PlannedResource


def _sources(rule: dict) -> list[str]:
    many = list(rule.get("sourceAddressPrefixes") or [])
    return many or ([rule["sourceAddressPrefix"]] if rule.get("sourceAddressPrefix") else [])


def _ports(rule: dict) -> list[str]:
    many = list(rule.get("destinationPortRanges") or [])
    return many or ([rule["destinationPortRange"]] if rule.get("destinationPortRange") else [])


def _nsg_of(ev: Evaluation, subnet: PlannedResource) -> PlannedResource | None:
    nsg_id = str(get(subnet.inputs, "networkSecurityGroup", "id") or "")
    for nsg in ev.by_type(T_NSG):
        if nsg_id.endswith(f"/networkSecurityGroups/{nsg.inputs.get('networkSecurityGroupName')}"):
            return nsg
    return None


def _subnet(ev: Evaluation, prefix: str) -> PlannedResource | None:
    for subnet in ev.by_type(T_SUBNET):
        if subnet.inputs.get("addressPrefix") == prefix:
            return subnet
    return None


def _allows(rules: list[dict], source: str, ports: set[str]) -> bool:
    """Some TCP allow rule admits `source` on every port of `ports`."""
    covered: set[str] = set()
    for rule in rules:
        if rule.get("access") == "Allow" and rule.get("direction") == "Inbound" and rule.get("protocol") in ("Tcp", "*") \
                and source in _sources(rule):
            covered.update(_ports(rule))
    return ports <= covered or "*" in covered


def check_network(ev: Evaluation) -> Iterable[Finding]:
    inv = "network-nsg"
    yield from _priorities(ev, inv)
    yield from _apps_nsg(ev, inv)
    yield from _endpoints_nsg(ev, inv)


def _priorities(ev: Evaluation, inv: str) -> Iterable[Finding]:
    """Every rule's priority lies in Azure's range and is unique per direction."""
    for nsg in ev.by_type(T_NSG):
        seen: dict[tuple[str, int], str] = {}
        for rule in nsg.inputs.get("securityRules") or []:
            priority = rule.get("priority")
            if not isinstance(priority, int) or not nsg_rules.MIN_PRIORITY <= priority <= nsg_rules.MAX_PRIORITY:
                yield finding(inv, f"rule {rule.get('name')} has priority {priority}, outside Azure's "
                                   f"{nsg_rules.MIN_PRIORITY}-{nsg_rules.MAX_PRIORITY}", nsg.name)
            key = (str(rule.get("direction")), priority)
            if key in seen:
                yield finding(inv, f"rules {seen[key]} and {rule.get('name')} share priority {priority}", nsg.name)
            seen[key] = str(rule.get("name"))


def _apps_nsg(ev: Evaluation, inv: str) -> Iterable[Finding]:
    apps = _subnet(ev, ev.settings.network.apps_subnet_prefix)
    apps_nsg = _nsg_of(ev, apps) if apps else None
    if apps_nsg is None:
        yield finding(inv, "the apps subnet must have its network security group")
        return
    rules = apps_nsg.inputs.get("securityRules") or []
    needed = (("Internet", {"80", nsg_rules.EDGE_HTTP_PORT}), ("Internet", {"443", nsg_rules.EDGE_HTTPS_PORT}),
              ("AzureLoadBalancer", {nsg_rules.LB_PROBE_PORTS}))
    for source, ports in needed:
        if not _allows(rules, source, ports):
            yield finding(inv, f"the apps NSG must allow TCP {', '.join(sorted(ports))} from {source} "
                               "(Container Apps workload-profiles inbound rules)", apps_nsg.name)
    if any(r.get("access") == "Deny" for r in rules):
        yield finding(inv, "the apps NSG must not add deny rules (Microsoft: they can break the environment)", apps_nsg.name)


def _endpoints_nsg(ev: Evaluation, inv: str) -> Iterable[Finding]:
    net = ev.settings.network
    endpoints = _subnet(ev, net.endpoints_subnet_prefix)
    pe_nsg = _nsg_of(ev, endpoints) if endpoints else None
    if endpoints is None or pe_nsg is None:
        yield finding(inv, "the endpoints subnet must have its network security group")
        return
    if endpoints.inputs.get("privateEndpointNetworkPolicies") != "Enabled":
        yield finding(inv, "privateEndpointNetworkPolicies must be Enabled, or the NSG does not apply to the endpoint",
                      endpoints.name)
    allowed = {ipaddress.ip_network(c) for c in (net.apps_subnet_prefix, *net.endpoint_client_cidrs)}
    rules = pe_nsg.inputs.get("securityRules") or []
    allow_rules = [r for r in rules if r.get("access") == "Allow" and r.get("direction") == "Inbound"]
    for rule in allow_rules:
        for source in _sources(rule):
            try:
                ok = ipaddress.ip_network(source) in allowed
            except ValueError:
                ok = False
            if not ok:
                yield finding(inv, f"the endpoints NSG admits {source!r}; only the apps subnet and "
                                   "faceAllowedClientCidrs may reach the private endpoint", pe_nsg.name)
        if _ports(rule) != ["443"]:
            yield finding(inv, f"the endpoints NSG rule {rule.get('name')} must open only port 443", pe_nsg.name)
    deny_all = [r for r in rules if r.get("access") == "Deny" and r.get("direction") == "Inbound"
                and _sources(r) == ["*"] and _ports(r) == ["*"] and r.get("protocol") == "*"]
    last_allow = max((r.get("priority") or 0 for r in allow_rules), default=0)
    if not deny_all or min(r.get("priority") or 0 for r in deny_all) <= last_allow:
        yield finding(inv, "the endpoints NSG must end in a deny-all inbound rule after its allow rules "
                           "(Azure's defaults admit the whole VNet)", pe_nsg.name)
