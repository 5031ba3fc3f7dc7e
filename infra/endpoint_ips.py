"""Pure: the private endpoint's fixed IP addresses, one per member of the `account` group.

A private endpoint to a Cognitive Services account (group `account`) maps each FQDN the account
serves to a "member" of that group. Static `ipConfigurations` must name every member the service
asks for, or Azure refuses the endpoint (`PrivateEndpointIpConfigurationMissingMemberNamesRequiredByFps`
names the missing ones; hashicorp/terraform-provider-azurerm#21781). Members per kind:

- `Face`: `default` (`<sub>.cognitiveservices.azure.com`). The Azure Verified Module's e2e test for
  a Face account uses exactly that (Azure/bicep-registry-modules,
  avm/res/cognitive-services/account/tests/e2e/max/main.test.bicep).
- `AIServices`: `default` (cognitiveservices.azure.com), `secondary` (openai.azure.com) and
  `third` (services.ai.azure.com), as public Bicep and Terraform templates for AI Services accounts
  with static endpoint IPs declare them. Microsoft does not document the member-to-FQDN mapping;
  the first-deploy checks of docs/operations.md show how to read it back (`az network private-endpoint show`).

No Pulumi and no I/O here: infra/config/face.py validates `liveness:privateEndpointIps` with these
functions and components/face.py declares what they return.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Mapping

from infra.errors import ConfigError

GROUP_ID = "account"
KEY = "liveness:privateEndpointIps"

# member name → the DNS suffix of the account FQDN it serves (`<customSubdomain>.<suffix>`)
MEMBER_SUFFIXES: dict[str, str] = {
    "default": "cognitiveservices.azure.com",
    "secondary": "openai.azure.com",
    "third": "services.ai.azure.com",
}
MEMBERS_BY_KIND: dict[str, tuple[str, ...]] = {
    "Face": ("default",),
    "AIServices": ("default", "secondary", "third"),
}
# The member that serves `<sub>.cognitiveservices.azure.com`, the host the proxy connects to.
ACCOUNT_HOST_MEMBER = "default"
# Azure keeps the network address, the first three hosts (gateway, two for Azure DNS) and the
# broadcast address of every subnet.
RESERVED_LEADING = 4


def members_for(kind: str) -> tuple[str, ...]:
    return MEMBERS_BY_KIND[kind]


def fqdn_for(member: str, custom_subdomain: str) -> str:
    return f"{custom_subdomain}.{MEMBER_SUFFIXES[member]}"


def reserved_addresses(subnet: ipaddress.IPv4Network) -> tuple[ipaddress.IPv4Address, ...]:
    first = subnet.network_address
    return (*(first + i for i in range(RESERVED_LEADING)), subnet.broadcast_address)


def default_ips(kind: str, subnet: ipaddress.IPv4Network, taken: Mapping[str, str] | None = None) -> dict[str, str]:
    """Deterministic addresses for the members of `kind`, from the top of the subnet down.

    The top end: Azure hands out dynamic addresses from the bottom of a subnet, so another endpoint
    added later to the same subnet does not race a fixed address of ours. `taken` maps members
    already configured to their addresses; they keep them and the others skip them.
    """
    taken = dict(taken or {})
    out: dict[str, str] = {}
    used = set(taken.values())
    candidate = subnet.broadcast_address - 1
    for member in members_for(kind):
        if member in taken:
            out[member] = taken[member]
            continue
        while str(candidate) in used:
            candidate -= 1
        out[member] = str(candidate)
        used.add(str(candidate))
        candidate -= 1
    return out


def parse_private_endpoint_ips(raw: Mapping[str, Any] | None, kind: str,
                               subnet: ipaddress.IPv4Network, subnet_key: str) -> tuple[tuple[str, str], ...]:
    """Validated (member, address) pairs for every member of `kind`, in member order.

    `raw` maps member names to IPv4 addresses; members left out get `default_ips`. Every address is
    inside `subnet`, none is one Azure reserves, and no two are equal.
    """
    given = dict(raw or {})
    allowed = members_for(kind)
    for member, value in given.items():
        if member not in allowed:
            raise ConfigError(KEY, {member: value},
                              f"member names of faceKind {kind}: {', '.join(allowed)}")
        if not isinstance(value, str):
            raise ConfigError(KEY, {member: value}, "an IPv4 address per member, e.g. {default: 10.40.2.30}")
        try:
            address = ipaddress.IPv4Address(value.strip())
        except ValueError:
            raise ConfigError(KEY, {member: value}, "an IPv4 address per member, e.g. {default: 10.40.2.30}") from None
        if address not in subnet:
            raise ConfigError(KEY, {member: value},
                              f"an address inside {subnet_key} {subnet} (usable {first_usable(subnet)}–{last_usable(subnet)})")
        if address == subnet.network_address or address == subnet.broadcast_address:
            raise ConfigError(KEY, {member: value},
                              f"not the network or broadcast address of {subnet}; usable {first_usable(subnet)}–{last_usable(subnet)}")
        if address in reserved_addresses(subnet):
            raise ConfigError(KEY, {member: value},
                              f"not one of Azure's reserved addresses of {subnet} (the first four and the last); "
                              f"usable {first_usable(subnet)}–{last_usable(subnet)}")
        given[member] = str(address)
    seen: dict[str, str] = {}
    for member, address in given.items():
        if address in seen:
            raise ConfigError(KEY, {seen[address]: address, member: address}, "a different address for each member")
        seen[address] = member
    filled = default_ips(kind, subnet, taken=given)
    return tuple((m, filled[m]) for m in allowed)


def first_usable(subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    return subnet.network_address + RESERVED_LEADING


def last_usable(subnet: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    return subnet.broadcast_address - 1
