"""Pure helpers the invariant checks share: resource type tokens, reading recorded inputs, findings.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from infra.plan.model import Evaluation, Finding, PlannedResource

T_ACCOUNT = "azure-native:cognitiveservices:Account"
T_ENDPOINT = "azure-native:network:PrivateEndpoint"
T_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
T_PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
T_ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
T_VNET = "azure-native:network:VirtualNetwork"
T_SUBNET = "azure-native:network:Subnet"
T_ENV = "azure-native:app:ManagedEnvironment"
T_APP = "azure-native:app:ContainerApp"
T_ZONE = "azure-native:dns:Zone"
T_RECORD = "azure-native:dns:RecordSet"
T_PROVIDER = "pulumi:providers:azure-native"


def _finding(invariant: str, message: str, resource: str | None = None, severity: str = "error") -> "Finding":
    return Finding(severity=severity, invariant=invariant, message=message, resource=resource)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _all_secret(value: Any) -> bool:
    """True when every leaf value is redacted (a secret), and there is at least one."""
    if isinstance(value, dict):
        return bool(value) and all(_all_secret(v) for v in value.values())
    if isinstance(value, list):
        return bool(value) and all(_all_secret(v) for v in value)
    return value == "[secret]"


def _vnet_prefixes(ev: "Evaluation") -> list[ipaddress.IPv4Network]:
    out = []
    for vnet in ev.by_type(T_VNET):
        for prefix in _get(vnet.inputs, "addressSpace", "addressPrefixes") or []:
            out.append(ipaddress.ip_network(prefix))
    return out


def _in_vnet(ev: "Evaluation", subnet: "PlannedResource") -> bool:
    prefix = subnet.inputs.get("addressPrefix")
    if not prefix:
        return False
    net = ipaddress.ip_network(prefix)
    return any(net.subnet_of(v) for v in _vnet_prefixes(ev))


def _subnet_for_id(ev: "Evaluation", subnet_id: Any) -> "PlannedResource | None":
    if not isinstance(subnet_id, str):
        return None
    for subnet in ev.by_type(T_SUBNET):
        if subnet_id.endswith(f"/subnets/{subnet.inputs.get('subnetName')}"):
            return subnet
    return None

