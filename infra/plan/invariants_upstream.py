"""Pure invariants of issue 8: the private endpoint's fixed addresses, the proxy's upstream and Host
header, its trusted proxy ranges, and the VNet links of hub private DNS zones.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Iterable

from components import proxy_config
from infra import endpoint_ips
from infra.azure_ids import parse_zone_id
from infra.plan.model import Evaluation, Finding, PlannedResource
from infra.plan.invariant_helpers import T_APP, T_ENDPOINT, T_PROVIDER, T_ZONE_LINK, _finding, _get, _subnet_for_id


def _endpoint_subnet(ev: "Evaluation", pe: "PlannedResource") -> ipaddress.IPv4Network | None:
    subnet = _subnet_for_id(ev, _get(pe.inputs, "subnet", "id"))
    prefix = subnet.inputs.get("addressPrefix") if subnet else None
    return ipaddress.IPv4Network(prefix) if prefix else None


def _static_ips(pe: "PlannedResource") -> dict[str, str]:
    return {str(c.get("memberName")): str(c.get("privateIPAddress"))
            for c in pe.inputs.get("ipConfigurations") or []}


def check_private_endpoint_ips(ev: "Evaluation") -> Iterable["Finding"]:
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
        yield _finding(inv, f"static ipConfigurations must name exactly the members {list(expected)} "
                            f"(faceKind {ev.settings.face.kind}), found {members}", pe.name)
    for c in configs:
        if c.get("groupId") != endpoint_ips.GROUP_ID:
            yield _finding(inv, f"ipConfiguration {c.get('name')!r} has groupId {c.get('groupId')!r}, must be 'account'", pe.name)
    subnet = _endpoint_subnet(ev, pe)
    if subnet is None:
        yield _finding(inv, "the private endpoint's subnet has no address prefix to check its fixed IPs against", pe.name)
        return
    addresses = [c.get("privateIPAddress") for c in configs]
    if len(set(addresses)) != len(addresses):
        yield _finding(inv, f"fixed IPs must be distinct, found {addresses}", pe.name)
    reserved = endpoint_ips.reserved_addresses(subnet)
    for address in addresses:
        try:
            ip = ipaddress.IPv4Address(str(address))
        except ValueError:
            yield _finding(inv, f"fixed IP {address!r} is not an IPv4 address", pe.name)
            continue
        if ip not in subnet:
            yield _finding(inv, f"fixed IP {ip} is outside the endpoints subnet {subnet}", pe.name)
        elif ip in reserved:
            yield _finding(inv, f"fixed IP {ip} is one of Azure's reserved addresses of {subnet}", pe.name)


_IPV4 = r"(?:\d{1,3}\.){3}\d{1,3}"
_TARGET_LINE = re.compile(r"^\s*(?:server|proxy_pass)\s+(?:https?://)?(\[?[^\s;:/\]]+\]?)", re.MULTILINE)


def check_proxy_upstream(ev: "Evaluation") -> Iterable["Finding"]:
    """The proxy is rendered for the endpoint's fixed account-host IP and the app runs exactly that file.

    The nginx.conf reaches the app as a secret (recorded "[secret]"), so the check re-renders it from
    the stack settings and compares its fingerprint with the NGINX_CONFIG_SHA256 the app receives in
    plain text: equal fingerprints mean the app holds this very file (and these settings).
    """
    from components.proxy_app import REVISION_HASH_ENV, config_fingerprint

    inv = "proxy-upstream"
    ps = ev.settings.proxy_settings()
    endpoints = ev.by_type(T_ENDPOINT)
    if len(endpoints) == 1:
        fixed = _static_ips(endpoints[0]).get(endpoint_ips.ACCOUNT_HOST_MEMBER)
        if fixed != ps.upstream_address:
            yield _finding(inv, f"the proxy targets {ps.upstream_address!r} but the private endpoint's fixed IP "
                                f"for {ev.settings.face.endpoint_host} is {fixed!r}")
    conf = proxy_config.render_nginx_config(ps)
    apps = ev.by_type(T_APP)
    if len(apps) == 1:
        env = {e.get("name"): e.get("value")
               for c in _get(apps[0].inputs, "template", "containers") or [] for e in c.get("env") or []}
        if env.get(REVISION_HASH_ENV) != config_fingerprint(conf, ps):
            yield _finding(inv, f"{REVISION_HASH_ENV} of the app does not match the configuration rendered for "
                                f"upstream {ps.upstream_address}: the app would run another file", apps[0].name)
    targets = _TARGET_LINE.findall(conf)
    wrong = sorted({t for t in targets if re.fullmatch(_IPV4, t) and t != ps.upstream_address})
    if wrong:
        yield _finding(inv, f"the proxy connects to {', '.join(wrong)}, not the private endpoint's fixed IP {ps.upstream_address}")
    if ps.upstream_address not in targets:
        yield _finding(inv, f"no server/proxy_pass line targets the private endpoint's fixed IP {ps.upstream_address}")


_HOST_HEADER = re.compile(r"^\s*proxy_set_header\s+Host\s+\"?([^\s\";]+)", re.MULTILINE | re.IGNORECASE)


def check_proxy_host_header(ev: "Evaluation") -> Iterable["Finding"]:
    """Host as `proxyUpstreamHost` says: the client's unchanged, or the account hostname.

    In `client` mode the proxy sends `$liveness_upstream_host`, mapped from the client's raw
    `Host` (`$http_host`: `$host` would be lower-cased and lose the port); only a request without
    one (HTTP/1.0) gets the account hostname.
    """
    inv = "proxy-config"
    ps = ev.settings.proxy_settings()
    host = ev.settings.face.endpoint_host
    conf = proxy_config.render_nginx_config(ps)
    sent = _HOST_HEADER.findall(conf)
    if ps.upstream_host == "account":
        if sent != [host]:
            yield _finding(inv, f"proxyUpstreamHost account: the Host header must be the account hostname {host}, found {sent}")
        return
    host_map = _CLIENT_HOST_MAP.search(conf)
    if sent != ["$liveness_upstream_host"] or host_map is None:
        yield _finding(inv, "proxyUpstreamHost client: the Host header must pass unchanged "
                            f"(a map from $http_host), found {sent}")
        return
    entries = dict(re.findall(r'^\s*("?[^\s"]*"?)\s+([^\s;]+);', host_map.group(1), re.MULTILINE))
    if entries.get("default") != "$http_host" or entries.get('""') != host:
        yield _finding(inv, "proxyUpstreamHost client: the Host map must send $http_host, and the "
                            f"account hostname only when the client sent none; found {entries}")


_CLIENT_HOST_MAP = re.compile(r"map \$http_host \$liveness_upstream_host \{(.*?)\}", re.DOTALL)


def check_trusted_proxy_ranges(ev: "Evaluation") -> Iterable["Finding"]:
    """Trusted X-Forwarded-For peers together cover at most a /8 (per address family)."""
    inv = "trusted-proxies"
    nets = [ipaddress.ip_network(c, strict=False) for c in ev.settings.proxy.trusted_proxy_cidrs]
    for version, bits in ((4, 32), (6, 128)):
        family = list(ipaddress.collapse_addresses(n for n in nets if n.version == version))
        total = sum(n.num_addresses for n in family)
        if total > 2 ** (bits - 8):
            yield _finding(inv, f"trusted proxy ranges cover {total} IPv{version} addresses, more than a /8: "
                                f"any client there could choose its own rate-limit key")


def check_hub_zone_links(ev: "Evaluation") -> Iterable["Finding"]:
    """privateDnsMode existing: each hub zone is linked to this VNet, in the zone's subscription and group."""
    inv = "hub-zone-links"
    face = ev.settings.face
    if face.private_dns_mode != "existing":
        return
    links = [l for l in ev.by_type(T_ZONE_LINK)
             if str(_get(l.inputs, "virtualNetwork", "id") or "").endswith("/" + ev.settings.resource_name("vnet"))]
    if not face.link_hub_zones_to_vnet:
        if links:
            yield _finding(inv, "privateDnsLinkVnet is false but the stack links hub zones to its VNet")
        return
    providers = {p.name: p for p in ev.by_type(T_PROVIDER)}
    for zone_id in face.private_dns_zone_ids:
        zone = parse_zone_id(zone_id)
        if zone is None:
            continue
        found = [l for l in links if l.inputs.get("privateZoneName") == zone.name
                 and l.inputs.get("resourceGroupName") == zone.resource_group]
        if not found:
            yield _finding(inv, f"{zone.name} (resource group {zone.resource_group}) must be linked to the stack's VNet")
            continue
        provider = providers.get(found[0].provider or "")
        sub = str((provider.inputs if provider else {}).get("subscriptionId", "")).lower()
        if sub != zone.subscription:
            yield _finding(inv, f"the link to {zone.name} must be created in the zone's subscription {zone.subscription}, "
                                f"not {sub or 'the default provider'}", found[0].name)

