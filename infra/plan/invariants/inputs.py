"""What every invariant check reads: the resource type tokens, the recorded provider inputs, findings.

Pure: works on the inputs an offline evaluation recorded (what the provider would receive).
"""

from __future__ import annotations

import functools
import ipaddress
from typing import Any, Callable, Iterable

from infra.plan.model import SECRET, Evaluation, Finding, PlannedResource

T_ACCOUNT = "azure-native:cognitiveservices:Account"
T_ENDPOINT = "azure-native:network:PrivateEndpoint"
T_ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
T_PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
T_ZONE_LINK = "azure-native:privatedns:VirtualNetworkLink"
T_VNET = "azure-native:network:VirtualNetwork"
T_SUBNET = "azure-native:network:Subnet"
T_NSG = "azure-native:network:NetworkSecurityGroup"
T_ENV = "azure-native:app:ManagedEnvironment"
T_APP = "azure-native:app:ContainerApp"
T_ZONE = "azure-native:dns:Zone"
T_RECORD = "azure-native:dns:RecordSet"
T_WORKSPACE = "azure-native:operationalinsights:Workspace"
T_DIAGNOSTIC = "azure-native:monitor:DiagnosticSetting"
T_LOCK = "azure-native:authorization:ManagementLockByScope"
T_ROLE = "azure-native:authorization:RoleAssignment"
T_PROVIDER = "pulumi:providers:azure-native"

# One invariant check: reads an evaluation, yields what is broken (nothing when the invariant holds).
Check = Callable[[Evaluation], Iterable[Finding]]
OneCheck = Callable[[Evaluation, PlannedResource], Iterable[Finding]]


def finding(invariant: str, message: str, resource: str | None = None, severity: str = "error") -> Finding:
    return Finding(severity=severity, invariant=invariant, message=message, resource=resource)


def one_of(ev: Evaluation, type_token: str, invariant: str, what: str) -> PlannedResource | Finding:
    """The one planned resource of a type, or the finding that there is not exactly one."""
    found = ev.by_type(type_token)
    return found[0] if len(found) == 1 else finding(invariant, f"expected one {what}, found {len(found)}")


def for_the_one(type_token: str, invariant: str, what: str) -> Callable[[OneCheck], Check]:
    """A check of the one planned resource of a type; when there is not exactly one, that is the finding."""
    def wrap(check: OneCheck) -> Check:
        @functools.wraps(check)
        def run(ev: Evaluation) -> Iterable[Finding]:
            found = one_of(ev, type_token, invariant, what)
            if isinstance(found, Finding):
                return [found]
            return check(ev, found)
        return run
    return wrap


def get(data: Any, *path: str) -> Any:
    """The value at `path` in nested dicts, or None where any step is missing or not a dict."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def all_secret(value: Any) -> bool:
    """True when every leaf value is redacted (a secret), and there is at least one."""
    if isinstance(value, dict):
        return bool(value) and all(all_secret(v) for v in value.values())
    if isinstance(value, list):
        return bool(value) and all(all_secret(v) for v in value)
    return bool(value == SECRET)


def _vnet_prefixes(ev: Evaluation) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for vnet in ev.by_type(T_VNET):
        for prefix in get(vnet.inputs, "addressSpace", "addressPrefixes") or []:
            out.append(ipaddress.ip_network(prefix))
    return out


def on_stack_vnet(ev: Evaluation, subnet_id: Any) -> bool:
    """`subnet_id` names a planned subnet whose address prefix lies inside the stack's VNet."""
    subnet = subnet_for_id(ev, subnet_id)
    prefix = subnet.inputs.get("addressPrefix") if subnet else None
    if not prefix:
        return False
    net = ipaddress.ip_network(prefix)
    return any(_within(net, v) for v in _vnet_prefixes(ev))


def _within(inner: ipaddress.IPv4Network | ipaddress.IPv6Network,
            outer: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """`inner` lies inside `outer`; False across IP versions (subnet_of would raise TypeError)."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def subnet_for_id(ev: Evaluation, subnet_id: Any) -> PlannedResource | None:
    """The planned subnet a resource id points at, or None."""
    if not isinstance(subnet_id, str):
        return None
    for subnet in ev.by_type(T_SUBNET):
        if subnet_id.endswith(f"/subnets/{subnet.inputs.get('subnetName')}"):
            return subnet
    return None


def links_to_stack_vnet(ev: Evaluation) -> list[PlannedResource]:
    """The private DNS zone links planned onto the stack's own VNet."""
    vnet = "/" + ev.settings.resource_name("vnet")
    return [link for link in ev.by_type(T_ZONE_LINK)
            if str(get(link.inputs, "virtualNetwork", "id") or "").endswith(vnet)]
