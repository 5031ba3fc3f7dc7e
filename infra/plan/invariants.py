"""The security invariants of ../shared/DESIGN.md, checked on an offline evaluation.

Pure: works on the recorded resource inputs (what the provider would receive). Each failed
invariant is a Finding; an empty list means every invariant holds. `liveness-infra plan` prints
these, and the unit tests assert there are none for every stack.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, Iterable

from components import proxy_config
from components.dns_records import ASUID_LABEL, VERIFICATION_LABEL
from infra import endpoint_ips
from infra.azure_ids import parse_zone_id
from infra.config_settings import COGNITIVE_ZONE
from infra.plan.invariants_platform import PLATFORM_CHECKS
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


def check_invariants(ev: "Evaluation") -> list["Finding"]:
    findings: list[Finding] = []
    for check in CHECKS:
        try:
            findings.extend(check(ev))
        except proxy_config.ProxyConfigError as exc:
            # Settings the renderer refuses (e.g. a mutated plan) are a broken invariant, not a crash.
            findings.append(_finding("proxy-config", f"the proxy configuration cannot be rendered: {exc}"))
    return findings


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


def check_account(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "face-account"
    accounts = ev.by_type(T_ACCOUNT)
    if len(accounts) != 1:
        yield _finding(inv, f"expected one Face account, found {len(accounts)}")
        return
    account = accounts[0]
    props = account.inputs.get("properties") or {}
    if props.get("publicNetworkAccess") != "Disabled":
        yield _finding(inv, f"publicNetworkAccess is {props.get('publicNetworkAccess')!r}, must be 'Disabled'", account.name)
    if _get(props, "networkAcls", "defaultAction") != "Deny":
        yield _finding(inv, "networkAcls.defaultAction must be 'Deny'", account.name)
    if not props.get("customSubDomainName"):
        yield _finding(inv, "a custom subdomain is required for private endpoints", account.name)
    rules = _get(props, "networkAcls", "ipRules") or []
    if rules and not ev.settings.face.ip_rules:
        yield _finding(inv, "IP rules present although faceIpRules is not configured", account.name)
    if ev.settings.prod_like and not account.protect:
        yield _finding("prod-protection", "the Face account must be protected in a prod lifecycle stack", account.name)


def check_private_endpoint(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "private-endpoint"
    endpoints = ev.by_type(T_ENDPOINT)
    if len(endpoints) != 1:
        yield _finding(inv, f"expected one private endpoint, found {len(endpoints)}")
        return
    pe = endpoints[0]
    subnet = _subnet_for_id(ev, _get(pe.inputs, "subnet", "id"))
    if subnet is None or not _in_vnet(ev, subnet):
        yield _finding(inv, "the private endpoint must sit on a subnet of the stack's VNet", pe.name)
    connections = pe.inputs.get("privateLinkServiceConnections") or []
    account_ids = {f"/{ev.settings.face.account_name}"}
    if len(connections) != 1 or connections[0].get("groupIds") != ["account"]:
        yield _finding(inv, "the private endpoint needs exactly one connection with groupIds ['account']", pe.name)
    elif not str(connections[0].get("privateLinkServiceId", "")).endswith(tuple(account_ids)):
        yield _finding(inv, "the private endpoint must point at the Face account", pe.name)

    mode = ev.settings.face.private_dns_mode
    groups = ev.by_type(T_ZONE_GROUP)
    if mode == "policy":
        if groups:
            yield _finding(inv, "privateDnsMode policy: the stack must not declare a zone group (Azure Policy owns it)")
        return
    if len(groups) != 1:
        yield _finding(inv, f"expected one private DNS zone group, found {len(groups)}")
        return
    zone_ids = [c.get("privateDnsZoneId", "") for c in groups[0].inputs.get("privateDnsZoneConfigs") or []]
    if not any(str(z).lower().endswith("/" + COGNITIVE_ZONE) for z in zone_ids):
        yield _finding(inv, f"the zone group must include {COGNITIVE_ZONE}", groups[0].name)
    if mode == "create":
        zones = {z.inputs.get("privateZoneName"): z for z in ev.by_type(T_PRIVATE_ZONE)}
        if COGNITIVE_ZONE not in zones:
            yield _finding(inv, f"{COGNITIVE_ZONE} must be created (privateDnsMode create)")
        for zone in zones.values():
            if zone.inputs.get("location") != "global":
                yield _finding(inv, "private DNS zones must have location 'global'", zone.name)
        linked = {link.inputs.get("privateZoneName") for link in ev.by_type(T_ZONE_LINK)
                  if str(_get(link.inputs, "virtualNetwork", "id") or "").endswith("/" + ev.settings.resource_name("vnet"))}
        for zone_name in zones:
            if zone_name not in linked:
                yield _finding(inv, f"{zone_name} must be linked to the stack's VNet")


def check_environment(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "proxy-environment"
    envs = ev.by_type(T_ENV)
    if len(envs) != 1:
        yield _finding(inv, f"expected one managed environment, found {len(envs)}")
        return
    env = envs[0]
    subnet = _subnet_for_id(ev, _get(env.inputs, "vnetConfiguration", "infrastructureSubnetId"))
    if subnet is None or not _in_vnet(ev, subnet):
        yield _finding(inv, "the managed environment must be injected into a subnet of the stack's VNet", env.name)
    apps = ev.by_type(T_APP)
    if len(apps) != 1:
        yield _finding(inv, f"expected one proxy container app, found {len(apps)}")
        return
    ingress = _get(apps[0].inputs, "configuration", "ingress") or {}
    if ingress.get("external") is not True:
        yield _finding(inv, "the proxy ingress must be external", apps[0].name)
    if ingress.get("transport") != "http":
        yield _finding(inv, f"ingress transport is {ingress.get('transport')!r}, must be 'http'", apps[0].name)
    if ingress.get("allowInsecure") is not False:
        yield _finding(inv, "ingress allowInsecure must be false", apps[0].name)
    if not isinstance(ingress.get("targetPort"), (int, float)):
        yield _finding(inv, "ingress needs one target port", apps[0].name)
    if ingress.get("additionalPortMappings"):
        yield _finding(inv, "ingress must expose only the target port", apps[0].name)
    domains = [d.get("name") for d in ingress.get("customDomains") or []]
    if domains != [ev.settings.proxy.host]:
        yield _finding(inv, f"the custom domain must be exactly {ev.settings.proxy.host}, found {domains}", apps[0].name)


_LOCATION_RE = re.compile(r"location\s+(?:~\*|~|=)?\s*(\S+)\s*\{")


def check_proxy_config(ev: "Evaluation") -> Iterable["Finding"]:
    """The shipped nginx configuration forwards only the four routes, with Host/SNI = account host."""
    inv = "proxy-config"
    conf = proxy_config.render_nginx_config(ev.settings.proxy_settings())
    host = ev.settings.face.endpoint_host
    if f"proxy_ssl_name {host};" not in conf and f'proxy_ssl_name "{host}";' not in conf:
        yield _finding(inv, f"TLS SNI must be the account hostname {host}")
    if "proxy_ssl_server_name on;" not in conf:
        yield _finding(inv, "proxy_ssl_server_name must be on")
    if "proxy_ssl_verify on;" not in conf:
        yield _finding(inv, "the upstream certificate must be verified")
    passes = len(re.findall(r"^\s*proxy_pass\s", conf, flags=re.MULTILINE))
    if passes < 1:
        yield _finding(inv, "no proxy_pass in the rendered configuration")
    for route in ("session/start", "session/attempt/end", "detectLiveness/singleModal", "detectLivenessWithVerify/singleModal"):
        if route.lower() not in conf.lower():
            yield _finding(inv, f"route {route} missing from the allowlist")
    if "detectLiveness-sessions".lower() in conf.lower():
        yield _finding(inv, "session creation must never be forwarded by the proxy")
    for line in re.findall(r"^\s*log_format\s.*$", conf, flags=re.MULTILINE):
        leaked = [v for v in SECRET_LOG_VARIABLES if v in line.lower()]
        if leaked:
            yield _finding(inv, f"the access log must not record credentials or bodies: {', '.join(leaked)}")


# Variables that would put credentials or bodies in the access log (Face keys travel in
# Ocp-Apim-Subscription-Key, tokens in Authorization).
SECRET_LOG_VARIABLES = ("$http_authorization", "$http_cookie", "$cookie_", "$request_body",
                        "$http_ocp_apim_subscription_key", "$sent_http_set_cookie")


def check_public_dns(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "public-dns"
    s = ev.settings
    if s.dns.mode == "external":
        names = {r["name"]: r for r in ev.outputs.get("dnsRecords") or []}
        expected = [s.proxy.host, f"{ASUID_LABEL}.{s.proxy.host}"]
        if s.registration.verification_code_configured:
            expected.append(f"{VERIFICATION_LABEL}.{s.proxy.host}")
        for name in expected:
            if name not in names:
                yield _finding(inv, f"external mode must list the record {name}")
        return
    records = {(r.inputs.get("relativeRecordSetName"), r.inputs.get("recordType")): r for r in ev.by_type(T_RECORD)}
    rel = s.proxy.host[: -(len(s.dns.zone_name) + 1)]
    if (rel, "CNAME") not in records and (rel, "A") not in records:
        yield _finding(inv, f"a CNAME (or A) record for {s.proxy.host} is required")
    if (f"{ASUID_LABEL}.{rel}", "TXT") not in records:
        yield _finding(inv, f"the {ASUID_LABEL}.{s.proxy.host} TXT record is required")
    verification = records.get((f"{VERIFICATION_LABEL}.{rel}", "TXT"))
    if s.registration.verification_code_configured:
        if verification is None:
            yield _finding(inv, f"the {VERIFICATION_LABEL}.{s.proxy.host} TXT record is required when a code is configured")
        elif not _all_secret(verification.inputs.get("txtRecords")):
            yield _finding(inv, "the verification code must be a secret in the TXT record's inputs", verification.name)
        elif s.prod_like and not verification.protect:
            yield _finding("prod-protection", "the verification TXT record must be protected in a prod lifecycle stack", verification.name)
    if s.prod_like and s.dns.mode == "create":
        for zone in ev.by_type(T_ZONE):
            if not zone.protect:
                yield _finding("prod-protection", "the public zone must be protected in a prod lifecycle stack", zone.name)


def check_outputs(ev: "Evaluation") -> Iterable["Finding"]:
    inv = "secrets"
    code = ev.outputs.get("verificationCode")
    if code is not None and code != "[secret]":
        yield _finding(inv, "the verification code must only be exported as a secret")


# --- issue 8: fixed upstream address, hub zone links, trusted ranges --------------------------


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
    from components.proxy import REVISION_HASH_ENV, config_fingerprint

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


CHECKS: tuple[Callable[["Evaluation"], Iterable["Finding"]], ...] = (
    check_account,
    check_private_endpoint,
    check_environment,
    check_proxy_config,
    check_public_dns,
    check_outputs,
    *PLATFORM_CHECKS,
    check_private_endpoint_ips,
    check_proxy_upstream,
    check_proxy_host_header,
    check_trusted_proxy_ranges,
    check_hub_zone_links,
)
