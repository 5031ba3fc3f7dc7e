"""The Face account is reachable only privately: no public network access, one private endpoint on
the stack's VNet with fixed addresses inside its subnet, and private DNS that resolves the account
to that endpoint (a zone group, created zones linked to the VNet, or hub zones linked where they live).
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from components.arg_choices import COGNITIVE_ZONE
from components.zone_ids import parse_zone_id
from infra import endpoint_ips
from infra.plan.invariants.inputs import (
    T_ACCOUNT, T_ENDPOINT, T_PRIVATE_ZONE, T_PROVIDER, T_ZONE_GROUP, finding, for_the_one, get, links_to_stack_vnet,
    on_stack_vnet, one_of, subnet_for_id,
)
from infra.plan.model import Evaluation, Finding, PlannedResource


@for_the_one(T_ACCOUNT, "face-account", "Face account")
def check_account(ev: Evaluation, account: PlannedResource) -> Iterable[Finding]:
    inv = "face-account"
    props = account.inputs.get("properties") or {}
    if props.get("publicNetworkAccess") != "Disabled":
        yield finding(inv, f"publicNetworkAccess is {props.get('publicNetworkAccess')!r}, must be 'Disabled'", account.name)
    if get(props, "networkAcls", "defaultAction") != "Deny":
        yield finding(inv, "networkAcls.defaultAction must be 'Deny'", account.name)
    if not props.get("customSubDomainName"):
        yield finding(inv, "a custom subdomain is required for private endpoints", account.name)
    rules = get(props, "networkAcls", "ipRules") or []
    if rules and not ev.settings.face.ip_rules:
        yield finding(inv, "IP rules present although faceIpRules is not configured", account.name)
    if ev.settings.prod_like and not account.protect:
        yield finding("prod-protection", "the Face account must be protected in a prod lifecycle stack", account.name)


@for_the_one(T_ENDPOINT, "private-endpoint", "private endpoint")
def check_private_endpoint(ev: Evaluation, pe: PlannedResource) -> Iterable[Finding]:
    inv = "private-endpoint"
    if not on_stack_vnet(ev, get(pe.inputs, "subnet", "id")):
        yield finding(inv, "the private endpoint must sit on a subnet of the stack's VNet", pe.name)
    connections = pe.inputs.get("privateLinkServiceConnections") or []
    account_ids = {f"/{ev.settings.face.account_name}"}
    if len(connections) != 1 or connections[0].get("groupIds") != ["account"]:
        yield finding(inv, "the private endpoint needs exactly one connection with groupIds ['account']", pe.name)
    elif not str(connections[0].get("privateLinkServiceId", "")).endswith(tuple(account_ids)):
        yield finding(inv, "the private endpoint must point at the Face account", pe.name)
    yield from _private_dns_zones(ev, inv)


def _private_dns_zones(ev: Evaluation, inv: str) -> Iterable[Finding]:
    """The endpoint's zone group and, with privateDnsMode create, the zones the stack creates."""
    mode = ev.settings.face.private_dns_mode
    if mode == "policy":
        if ev.by_type(T_ZONE_GROUP):
            yield finding(inv, "privateDnsMode policy: the stack must not declare a zone group (Azure Policy owns it)")
        return
    group = one_of(ev, T_ZONE_GROUP, inv, "private DNS zone group")
    if isinstance(group, Finding):
        yield group
        return
    zone_ids = [c.get("privateDnsZoneId", "") for c in group.inputs.get("privateDnsZoneConfigs") or []]
    if not any(str(z).lower().endswith("/" + COGNITIVE_ZONE) for z in zone_ids):
        yield finding(inv, f"the zone group must include {COGNITIVE_ZONE}", group.name)
    if mode == "create":
        zones = {z.inputs.get("privateZoneName"): z for z in ev.by_type(T_PRIVATE_ZONE)}
        if COGNITIVE_ZONE not in zones:
            yield finding(inv, f"{COGNITIVE_ZONE} must be created (privateDnsMode create)")
        for zone in zones.values():
            if zone.inputs.get("location") != "global":
                yield finding(inv, "private DNS zones must have location 'global'", zone.name)
        linked = {link.inputs.get("privateZoneName") for link in links_to_stack_vnet(ev)}
        for zone_name in zones:
            if zone_name not in linked:
                yield finding(inv, f"{zone_name} must be linked to the stack's VNet")


def _endpoint_subnet(ev: Evaluation, pe: PlannedResource) -> ipaddress.IPv4Network | None:
    subnet = subnet_for_id(ev, get(pe.inputs, "subnet", "id"))
    prefix = subnet.inputs.get("addressPrefix") if subnet else None
    return ipaddress.IPv4Network(prefix) if prefix else None


def check_private_endpoint_ips(ev: Evaluation) -> Iterable[Finding]:
    """Static ipConfigurations: every member of the kind, group `account`, inside the endpoints subnet."""
    inv = "private-endpoint-ips"
    endpoints = ev.by_type(T_ENDPOINT)
    if len(endpoints) != 1:
        return  # check_private_endpoint reports it
    pe = endpoints[0]
    configs = pe.inputs.get("ipConfigurations") or []
    expected = endpoint_ips.members_for(ev.settings.face.kind)
    members = [c.get("memberName") for c in configs]
    if sorted(members) != sorted(expected):
        yield finding(inv, f"static ipConfigurations must name exactly the members {list(expected)} "
                           f"(faceKind {ev.settings.face.kind}), found {members}", pe.name)
    for c in configs:
        if c.get("groupId") != endpoint_ips.GROUP_ID:
            yield finding(inv, f"ipConfiguration {c.get('name')!r} has groupId {c.get('groupId')!r}, must be 'account'",
                          pe.name)
    subnet = _endpoint_subnet(ev, pe)
    if subnet is None:
        yield finding(inv, "the private endpoint's subnet has no address prefix to check its fixed IPs against", pe.name)
        return
    addresses = [c.get("privateIPAddress") for c in configs]
    if len(set(addresses)) != len(addresses):
        yield finding(inv, f"fixed IPs must be distinct, found {addresses}", pe.name)
    reserved = endpoint_ips.reserved_addresses(subnet)
    for address in addresses:
        try:
            ip = ipaddress.IPv4Address(str(address))
        except ValueError:
            yield finding(inv, f"fixed IP {address!r} is not an IPv4 address", pe.name)
            continue
        if ip not in subnet:
            yield finding(inv, f"fixed IP {ip} is outside the endpoints subnet {subnet}", pe.name)
        elif ip in reserved:
            yield finding(inv, f"fixed IP {ip} is one of Azure's reserved addresses of {subnet}", pe.name)


def check_hub_zone_links(ev: Evaluation) -> Iterable[Finding]:
    """privateDnsMode existing: each hub zone is linked to this VNet, in the zone's subscription and group."""
    inv = "hub-zone-links"
    face = ev.settings.face
    if face.private_dns_mode != "existing":
        return
    links = links_to_stack_vnet(ev)
    if not face.link_hub_zones_to_vnet:
        if links:
            yield finding(inv, "privateDnsLinkVnet is false but the stack links hub zones to its VNet")
        return
    providers = {p.name: p for p in ev.by_type(T_PROVIDER)}
    for zone_id in face.private_dns_zone_ids:
        zone = parse_zone_id(zone_id)
        if zone is None:
            continue
        found = [link for link in links if link.inputs.get("privateZoneName") == zone.name
                 and link.inputs.get("resourceGroupName") == zone.resource_group]
        if not found:
            yield finding(inv, f"{zone.name} (resource group {zone.resource_group}) must be linked to the stack's VNet")
            continue
        provider = providers.get(found[0].provider or "")
        sub = str((provider.inputs if provider else {}).get("subscriptionId", "")).lower()
        if sub != zone.subscription:
            yield finding(inv, f"the link to {zone.name} must be created in the zone's subscription {zone.subscription}, "
                               f"not {sub or 'the default provider'}", found[0].name)
