"""The Face account group: kind, SKU, subdomain, outbound rules, private DNS and the endpoint's IPs.

The account kinds, private-DNS modes and zone names belong to components/face.py (FaceAccount);
the private endpoint's fixed IPs are computed in infra/endpoint_ips.py.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Optional

from components.arg_choices import default_zone_names
from infra import endpoint_ips
from components.zone_ids import parse_zone_id
from infra.config.network import NetworkSettings
from infra.config.reader import DNS_LABEL, Reader, hostname
from infra.errors import ConfigError


@dataclass(frozen=True)
class FaceSettings:
    kind: str
    sku: str
    account_name: str
    custom_subdomain: str
    disable_local_auth: bool
    restrict_outbound_network_access: bool
    allowed_fqdns: tuple[str, ...]
    ip_rules: tuple[str, ...]
    private_dns_mode: str
    private_dns_zone_ids: tuple[str, ...]
    # (member, fixed private IP) of the private endpoint, every member of the kind, in member order
    private_endpoint_ips: tuple[tuple[str, str], ...] = ()
    # privateDnsMode existing: also link the hub's zones to this stack's VNet
    link_hub_zones_to_vnet: bool = True

    @property
    def endpoint_host(self) -> str:
        return f"{self.custom_subdomain}.cognitiveservices.azure.com"

    @property
    def account_host_ip(self) -> str:
        """The fixed private IP serving `endpoint_host` (what the proxy connects to)."""
        return dict(self.private_endpoint_ips)[endpoint_ips.ACCOUNT_HOST_MEMBER]

    @property
    def ips_by_fqdn(self) -> dict[str, str]:
        """Each account FQDN the private endpoint serves → its fixed private IP."""
        return {endpoint_ips.fqdn_for(m, self.custom_subdomain): ip for m, ip in self.private_endpoint_ips}

    @property
    def private_zone_names(self) -> tuple[str, ...]:
        """Private DNS zones the account's endpoint needs, for its kind."""
        return tuple(default_zone_names(self.kind))


def parse_face(r: Reader, name_prefix: str, suffix: Optional[str], network: NetworkSettings) -> FaceSettings:
    kind = r.choice("faceKind")
    sku = r.text("faceSku")
    if sku != "S0":
        raise ConfigError(r.full("faceSku"), sku, "S0 (liveness detection needs the standard tier)")
    default_sub = f"{name_prefix}-face" + (f"-{suffix}" if suffix else "")
    sub = r.string("faceCustomSubdomain", default_sub).lower()
    if len(sub) < 2 or len(sub) > 63 or not DNS_LABEL.match(sub):
        raise ConfigError(r.full("faceCustomSubdomain"), sub,
                          "2-63 lower-case letters, digits and inner hyphens: one DNS label, globally unique")
    ip_rules = r.string_list("faceIpRules")
    if ip_rules:
        # Public network access is always Disabled, and Azure applies an account's IP rules only to
        # the public endpoint: a rule here would deploy and do nothing (docs/operations.md).
        raise ConfigError(r.full("faceIpRules"), list(ip_rules),
                          "no rules: public network access is Disabled, so Azure ignores IP rules; "
                          "let the caller reach the private endpoint instead (faceAllowedClientCidrs)")
    fqdns = tuple(hostname(r, "faceAllowedFqdns", f) for f in r.string_list("faceAllowedFqdns"))
    mode = r.choice("privateDnsMode")
    zone_ids = _private_dns_zone_ids(r, kind, mode)
    face = FaceSettings(
        kind=kind,
        sku=sku,
        account_name=sub,
        custom_subdomain=sub,
        disable_local_auth=r.boolean("faceDisableLocalAuth"),
        restrict_outbound_network_access=r.boolean("faceRestrictOutboundNetworkAccess"),
        allowed_fqdns=fqdns,
        ip_rules=ip_rules,
        private_dns_mode=mode,
        private_dns_zone_ids=zone_ids,
    )
    return _with_endpoint_addressing(r, face, network)


def _private_dns_zone_ids(r: Reader, kind: str, mode: str) -> tuple[str, ...]:
    key = "privateDnsZoneIds"
    zone_ids = tuple(zid.rstrip("/") for zid in r.string_list(key))
    if mode != "existing":
        if zone_ids:
            raise ConfigError(r.full(key), list(zone_ids), f"no ids unless {r.full('privateDnsMode')} is existing (it is {mode})")
        return zone_ids
    if not zone_ids:
        raise ConfigError(r.full(key), [], "at least the id of privatelink.cognitiveservices.azure.com (privateDnsMode existing)")
    for zid in zone_ids:
        if parse_zone_id(zid) is None:
            raise ConfigError(r.full(key), zid,
                              "resource ids of Microsoft.Network/privateDnsZones: "
                              "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/privateDnsZones/<zone>")
    have = {zid.rstrip("/").rsplit("/", 1)[-1].lower() for zid in zone_ids}
    missing = [z for z in default_zone_names(kind) if z not in have]
    if missing:
        raise ConfigError(r.full(key), sorted(have), f"ids that include {', '.join(missing)} for faceKind {kind}")
    return zone_ids


def _with_endpoint_addressing(r: Reader, face: FaceSettings, network: NetworkSettings) -> FaceSettings:
    """The private endpoint's fixed IPs (validated in the endpoints subnet) and the hub-zone links."""
    subnet = ipaddress.IPv4Network(network.endpoints_subnet_prefix)
    ips = endpoint_ips.parse_private_endpoint_ips(
        r.structured("privateEndpointIps", dict), face.kind, subnet, r.full("endpointsSubnetPrefix"))
    link = r.boolean("privateDnsLinkVnet")
    if r.value("privateDnsLinkVnet") is not None and face.private_dns_mode != "existing":
        raise ConfigError(r.full("privateDnsLinkVnet"), r.value("privateDnsLinkVnet"),
                          f"unset unless {r.full('privateDnsMode')} is existing (it is {face.private_dns_mode})")
    return replace(face, private_endpoint_ips=ips, link_hub_zones_to_vnet=link)
