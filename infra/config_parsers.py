"""Per-group parsers: the raw `liveness:` keys of one group (network, face, proxy, DNS, monitoring,
registration, tags) into its settings dataclass, with the cross-key checks of that group.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Optional

from components.proxy_config import CONTAINER_APPS_PLATFORM_CIDRS, ProxyConfigError, check_trusted_proxy_cidrs
from components.proxy_settings import ProxySettings, proxy_limits
from infra import endpoint_ips
from components.zone_ids import parse_zone_id
from infra.config_schema import NAMESPACE
from infra.errors import ConfigError
from infra.monitoring_config import MonitoringSettings, parse_monitoring
from infra.config_checks import (
    APPS_RESERVED, _KV_SECRET_URL, _MEMORY, _RESOURCE_ID, _SUBDOMAIN, _client_cidrs, _hostname,
    _network, _parse_issued_at,
)
from infra.config_reader import _Reader
from infra.config_settings import (
    AI_SERVICES_EXTRA_ZONES, CERTIFICATE_SOURCES, COGNITIVE_ZONE, DEFAULT_PROXY_IMAGE, DNS_MODES,
    DOMAIN_BINDINGS, DnsSettings, FACE_KINDS, FaceSettings, INGRESS_TIMEOUT_SECONDS,
    MIN_APPS_SUBNET_PREFIXLEN, MIN_ENDPOINTS_SUBNET_PREFIXLEN, NetworkSettings, PRIVATE_DNS_MODES,
    ProxyAppSettings, REGISTRATION_STATES, RegistrationSettings, Settings,
)

# Azure tags: at most 50 per resource (the stack adds 3), names up to 512 characters without
# < > % & \\ ? /, values up to 256 characters (learn.microsoft.com/azure/azure-resource-manager/management/tag-resources).
MAX_USER_TAGS = 47
_TAG_NAME_FORBIDDEN = set('<>%&\\?/')


def _user_tags(r: _Reader) -> dict[str, str]:
    tags = r.string_map("tags")
    if len(tags) > MAX_USER_TAGS:
        raise ConfigError(r.full("tags"), f"{len(tags)} tags", f"at most {MAX_USER_TAGS} tags (Azure allows 50; the stack adds 3)")
    for name, value in tags.items():
        if not name.strip() or len(name) > 512 or _TAG_NAME_FORBIDDEN & set(name):
            raise ConfigError(r.full("tags"), name, "tag names of 1-512 characters without < > % & \\ ? /")
        if len(value) > 256:
            raise ConfigError(r.full("tags"), value, f"tag values of at most 256 characters (tag {name!r})")
    return tags


# ProxySettings field → the config key it comes from, for errors the nginx renderer reports.
_PROXY_FIELD_KEYS = {
    "face_host": "faceCustomSubdomain",
    "allow_options": "proxyAllowBrowserPreflight",
    "rate_limit_per_second": "proxyRateLimitPerSecond",
    "rate_limit_burst": "proxyRateLimitBurst",
    "max_body_bytes": "proxyMaxBodyBytes",
    "trusted_proxy_cidrs": "proxyTrustedProxyCidrs",
    "client_timeout_seconds": "proxyClientTimeoutSeconds",
    "upstream_timeout_seconds": "proxyUpstreamTimeoutSeconds",
    "upstream_address": "privateEndpointIps",
    "upstream_host": "proxyUpstreamHost",
    "cpu": "proxyCpu",
    "concurrent_requests": "proxyConcurrentRequests",
    "memory": "proxyMemory",
}
# ProxySettings fields that no config key sets (local runs and tests change them).
_PROXY_FIELDS_NOT_FROM_CONFIG = frozenset({"listen_port", "health_port", "ca_bundle", "upstream_idle_ms"})


def _check_renderable(settings: "Settings") -> None:
    """A config that validates must render: the nginx renderer's own checks, as config errors.

    Whatever the renderer refuses would otherwise surface as a traceback in `plan` and `pulumi up`.
    """
    from components.proxy_config import ProxyConfigError, validate

    try:
        validate(settings.proxy_settings())
    except ProxyConfigError as exc:
        field = getattr(exc, "name", "")
        key = _PROXY_FIELD_KEYS.get(field)
        received = getattr(settings.proxy_settings(), field, None) if field else None
        raise ConfigError(f"{NAMESPACE}:{key}" if key else f"{NAMESPACE} proxy setting {field}", received,
                          f"a value the proxy configuration accepts ({str(exc).rpartition('expected ')[2] or exc})") from None


def _parse_network(r: _Reader) -> NetworkSettings:
    vnet = _network(r, "vnetAddressSpace", "10.40.0.0/16")
    apps = _network(r, "appsSubnetPrefix", "10.40.0.0/23")
    endpoints = _network(r, "endpointsSubnetPrefix", "10.40.2.0/27")
    for key, net in (("appsSubnetPrefix", apps), ("endpointsSubnetPrefix", endpoints)):
        if not net.subnet_of(vnet):
            raise ConfigError(r.full(key), str(net), f"a range inside {r.full('vnetAddressSpace')} {vnet}")
    if apps.prefixlen > MIN_APPS_SUBNET_PREFIXLEN:
        raise ConfigError(r.full("appsSubnetPrefix"), str(apps),
                          f"a /{MIN_APPS_SUBNET_PREFIXLEN} or larger (workload-profiles environments need it)")
    if endpoints.prefixlen > MIN_ENDPOINTS_SUBNET_PREFIXLEN:
        raise ConfigError(r.full("endpointsSubnetPrefix"), str(endpoints),
                          f"a /{MIN_ENDPOINTS_SUBNET_PREFIXLEN} or larger")
    if apps.overlaps(endpoints):
        raise ConfigError(r.full("endpointsSubnetPrefix"), str(endpoints),
                          f"a range that does not overlap {r.full('appsSubnetPrefix')} {apps}")
    reserved = next((n for n in APPS_RESERVED if apps.overlaps(n)), None)
    if reserved is not None:
        raise ConfigError(r.full("appsSubnetPrefix"), str(apps),
                          f"a range that does not overlap {reserved} (reserved by Container Apps)")
    clients = _client_cidrs(r)
    return NetworkSettings(str(vnet), str(apps), str(endpoints), clients)


def _parse_face(r: _Reader, name_prefix: str, suffix: Optional[str], stack: str) -> FaceSettings:
    kind = r.choice("faceKind", FACE_KINDS, "Face")
    sku = r.string("faceSku", "S0")
    if sku != "S0":
        raise ConfigError(r.full("faceSku"), sku, "S0 (liveness detection needs the standard tier)")
    default_sub = f"{name_prefix}-face" + (f"-{suffix}" if suffix else "")
    sub = r.string("faceCustomSubdomain", default_sub).lower()
    if len(sub) < 2 or len(sub) > 63 or not _SUBDOMAIN.match(sub):
        raise ConfigError(r.full("faceCustomSubdomain"), sub,
                          "2-63 lower-case letters, digits and inner hyphens: one DNS label, globally unique")
    ip_rules = r.string_list("faceIpRules")
    if ip_rules:
        # Public network access is always Disabled, and Azure applies an account's IP rules only to
        # the public endpoint: a rule here would deploy and do nothing (docs/operations.md).
        raise ConfigError(r.full("faceIpRules"), list(ip_rules),
                          "no rules: public network access is Disabled, so Azure ignores IP rules; "
                          "let the caller reach the private endpoint instead (faceAllowedClientCidrs)")
    fqdns = tuple(_hostname(r, "faceAllowedFqdns", f) for f in r.string_list("faceAllowedFqdns"))
    mode = r.choice("privateDnsMode", PRIVATE_DNS_MODES, "create")
    zone_ids = tuple(zid.rstrip("/") for zid in r.string_list("privateDnsZoneIds"))
    if mode == "existing":
        if not zone_ids:
            raise ConfigError(r.full("privateDnsZoneIds"), [], "at least the id of privatelink.cognitiveservices.azure.com (privateDnsMode existing)")
        for zid in zone_ids:
            if parse_zone_id(zid) is None:
                raise ConfigError(r.full("privateDnsZoneIds"), zid,
                                  "resource ids of Microsoft.Network/privateDnsZones: "
                                  "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Network/privateDnsZones/<zone>")
        have = {zid.rstrip("/").rsplit("/", 1)[-1].lower() for zid in zone_ids}
        needed = (COGNITIVE_ZONE, *AI_SERVICES_EXTRA_ZONES) if kind == "AIServices" else (COGNITIVE_ZONE,)
        missing = [z for z in needed if z not in have]
        if missing:
            raise ConfigError(r.full("privateDnsZoneIds"), sorted(have), f"ids that include {', '.join(missing)} for faceKind {kind}")
    elif zone_ids:
        raise ConfigError(r.full("privateDnsZoneIds"), list(zone_ids), f"no ids unless {r.full('privateDnsMode')} is existing (it is {mode})")
    return FaceSettings(
        kind=kind,
        sku=sku,
        account_name=sub,
        custom_subdomain=sub,
        disable_local_auth=r.boolean("faceDisableLocalAuth", True),
        restrict_outbound_network_access=r.boolean("faceRestrictOutboundNetworkAccess", True),
        allowed_fqdns=fqdns,
        ip_rules=ip_rules,
        private_dns_mode=mode,
        private_dns_zone_ids=zone_ids,
    )


def _trusted_proxy_cidrs(r: _Reader, network: NetworkSettings) -> tuple[str, ...]:
    """Peers whose right-most X-Forwarded-For entry is the client IP: by default the apps subnet
    and the ranges a workload-profiles environment reserves (its ingress connects from either)."""
    key = "proxyTrustedProxyCidrs"
    trusted = tuple(r.string_list(key)) or (network.apps_subnet_prefix, *CONTAINER_APPS_PLATFORM_CIDRS)
    for cidr in trusted:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError:
            raise ConfigError(r.full(key), cidr, "CIDR ranges with no host bits set") from None
    try:
        check_trusted_proxy_cidrs(key, list(trusted))
    except ProxyConfigError as exc:
        shown = ", ".join(trusted)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        raise ConfigError(r.full(key), f"[{shown}]", exc.expected) from None
    return trusted


def _with_endpoint_addressing(r: _Reader, face: FaceSettings, network: NetworkSettings) -> FaceSettings:
    """The private endpoint's fixed IPs (validated in the endpoints subnet) and the hub-zone links."""
    subnet = ipaddress.IPv4Network(network.endpoints_subnet_prefix)
    ips = endpoint_ips.parse_private_endpoint_ips(
        r._structured("privateEndpointIps", dict), face.kind, subnet, r.full("endpointsSubnetPrefix"))
    link = r.boolean("privateDnsLinkVnet", True)
    if r._value("privateDnsLinkVnet") is not None and face.private_dns_mode != "existing":
        raise ConfigError(r.full("privateDnsLinkVnet"), r._value("privateDnsLinkVnet"),
                          f"unset unless {r.full('privateDnsMode')} is existing (it is {face.private_dns_mode})")
    return replace(face, private_endpoint_ips=ips, link_hub_zones_to_vnet=link)


def _parse_proxy(r: _Reader, prod: bool, network: NetworkSettings, stack: str) -> ProxyAppSettings:
    raw_host = r.require("proxyHost", "the public hostname of the proxy, e.g. liveness.contoso.com")
    # `{stack}` lets one template (stacks/Pulumi.pr.yaml) give every ephemeral stack its own host.
    host = _hostname(r, "proxyHost", raw_host.replace("{stack}", stack), min_labels=3)
    image = r.string("proxyImage", DEFAULT_PROXY_IMAGE)
    if "@sha256:" not in image:
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if not tag or tag == "latest":
            raise ConfigError(r.full("proxyImage"), image, "an nginx image pinned by tag or digest, e.g. " + DEFAULT_PROXY_IMAGE)
    cpu = r.number("proxyCpu", 0.5, 0.25, 4.0)
    memory = r.string("proxyMemory", "1Gi")
    m = _MEMORY.match(memory)
    if not m or float(m.group(1)) <= 0 or float(m.group(1)) > cpu * 2:
        raise ConfigError(r.full("proxyMemory"), memory, f"a size like 1Gi, at most 2Gi per vCPU ({cpu * 2:g}Gi for proxyCpu {cpu:g})")
    min_replicas = r.integer("proxyMinReplicas", 2 if prod else 1, 0, 300)
    max_replicas = r.integer("proxyMaxReplicas", 10, 1, 300)
    if prod and min_replicas < 2:
        raise ConfigError(r.full("proxyMinReplicas"), min_replicas, "at least 2 for a prod lifecycle stack (the proxy is the only door)")
    if max_replicas < min_replicas:
        raise ConfigError(r.full("proxyMaxReplicas"), max_replicas, f"at least proxyMinReplicas ({min_replicas})")
    trusted = _trusted_proxy_cidrs(r, network)
    client_timeout = r.integer("proxyClientTimeoutSeconds", 60, 5, INGRESS_TIMEOUT_SECONDS - 1)
    upstream_timeout = r.integer("proxyUpstreamTimeoutSeconds", 120, 5, INGRESS_TIMEOUT_SECONDS - 1)
    source = r.choice("proxyCertificateSource", CERTIFICATE_SOURCES, "managed")
    binding = r.choice("proxyDomainBinding", DOMAIN_BINDINGS, "auto")
    kv_url = r.string("proxyKeyVaultCertificateUrl")
    kv_identity = r.string("proxyKeyVaultIdentity")
    if source == "keyvault":
        if not kv_url or not _KV_SECRET_URL.match(kv_url):
            raise ConfigError(r.full("proxyKeyVaultCertificateUrl"), kv_url, "a Key Vault secret URL such as https://kv-name.vault.azure.net/secrets/liveness-cert")
        if not kv_identity or not _RESOURCE_ID.match(kv_identity) or "/userassignedidentities/" not in kv_identity.lower():
            raise ConfigError(r.full("proxyKeyVaultIdentity"), kv_identity, "the resource id of a user-assigned managed identity")
        if r.string("proxyDomainBinding") is not None:
            raise ConfigError(r.full("proxyDomainBinding"), binding, "unset when proxyCertificateSource is keyvault (it applies to managed certificates)")
    elif kv_url or kv_identity:
        raise ConfigError(r.full("proxyKeyVaultCertificateUrl" if kv_url else "proxyKeyVaultIdentity"), kv_url or kv_identity,
                          "unset unless proxyCertificateSource is keyvault")
    max_body = r.integer("proxyMaxBodyBytes", 8 * 1024 * 1024, 1024, 64 * 1024 * 1024)
    concurrent = r.integer("proxyConcurrentRequests", 50, 1, 10000)
    _check_memory_bound(r, cpu, memory, max_body, concurrent)
    return ProxyAppSettings(
        host=host,
        image=image,
        cpu=cpu,
        memory=memory,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        concurrent_requests=concurrent,
        zone_redundant=r.boolean("proxyZoneRedundant", prod),
        allow_browser_preflight=r.boolean("proxyAllowBrowserPreflight", False),
        rate_limit_per_second=r.integer("proxyRateLimitPerSecond", 10, 1, 10000),
        rate_limit_burst=r.integer("proxyRateLimitBurst", 20, 0, 100000),
        max_body_bytes=max_body,
        trusted_proxy_cidrs=trusted,
        client_timeout_seconds=client_timeout,
        upstream_timeout_seconds=upstream_timeout,
        certificate_source=source,
        domain_binding=binding,
        key_vault_certificate_url=kv_url,
        key_vault_identity=kv_identity,
    )


def _parse_dns(r: _Reader, proxy_host: str) -> DnsSettings:
    mode = r.choice("dnsMode", DNS_MODES, "create")
    zone = r.string("dnsZoneName")
    if mode in ("create", "existing"):
        if zone is None:
            raise ConfigError(r.full("dnsZoneName"), None, f"the public zone holding {proxy_host} (dnsMode {mode})")
        zone = _hostname(r, "dnsZoneName", zone)
        if not proxy_host.endswith("." + zone):
            # The host is what the user is placing; the zone is the fixed frame it must sit in.
            raise ConfigError(r.full("proxyHost"), proxy_host,
                              f"a name strictly below {r.full('dnsZoneName')} {zone} "
                              "(a CNAME cannot sit at the zone apex), or change dnsZoneName")
    elif zone is not None:
        zone = _hostname(r, "dnsZoneName", zone)
    zone_rg = r.string("dnsZoneResourceGroup")
    if zone_rg is not None and mode != "existing":
        raise ConfigError(r.full("dnsZoneResourceGroup"), zone_rg, "unset unless dnsMode is existing")
    return DnsSettings(
        mode=mode,
        zone_name=zone,
        zone_resource_group=zone_rg,
        record_ttl=r.integer("dnsRecordTtl", 300, 30, 86400),
        verification_ttl=r.integer("verificationTxtTtl", 60, 30, 3600),
    )


def _parse_monitoring(r: _Reader, prod: bool, webhook_is_secret: Optional[bool]) -> MonitoringSettings:
    from infra.stackfile import SECRET_PLACEHOLDER

    return parse_monitoring(r, prod, webhook_is_secret, SECRET_PLACEHOLDER)


def _parse_registration(r: _Reader, proxy_host: str, code_is_secret: Optional[bool]) -> RegistrationSettings:
    state = r.choice("registrationState", REGISTRATION_STATES, "none")
    code_present = r._value("verificationCode") is not None
    if code_present and code_is_secret is False:
        raise ConfigError(r.full("verificationCode"), "a plain-text value",
                          "a secret: pulumi config set --secret liveness:verificationCode <code>")
    issued_at = _parse_issued_at(r)
    if state == "verifying":
        if not code_present:
            raise ConfigError(r.full("verificationCode"), None, "the verification string from Microsoft support (registrationState verifying)")
        if issued_at is None:
            raise ConfigError(r.full("verificationCodeIssuedAt"), None, "when support issued the code (registrationState verifying), e.g. 2026-11-20T09:30:00Z")
    registered_host = r.string("registeredProxyHost")
    allow_change = r.boolean("allowProxyHostChange", False)
    if registered_host is not None:
        registered_host = _hostname(r, "registeredProxyHost", registered_host, min_labels=3)
    if state == "registered":
        if registered_host is None:
            raise ConfigError(r.full("registeredProxyHost"), None, "the hostname Microsoft registered (registrationState registered)")
        if registered_host != proxy_host and not allow_change:
            raise ConfigError(
                r.full("proxyHost"), proxy_host,
                f"{registered_host}, the host registered with Microsoft; changing it needs a new support "
                f"ticket and verification; set {NAMESPACE}:allowProxyHostChange true to proceed",
            )
    return RegistrationSettings(
        state=state,
        verification_code_configured=code_present,
        verification_code_issued_at=issued_at,
        registered_proxy_host=registered_host,
        allow_proxy_host_change=allow_change,
    )


def _check_memory_bound(r: _Reader, cpu: float, memory: str, max_body: int, concurrent: int) -> None:
    """The proxy's memory bound (components/proxy_settings.proxy_limits) must hold for these sizes."""
    sizes = ProxySettings(face_host="bound.check.invalid", upstream_address="10.0.0.4", cpu=cpu,
                          memory=memory, max_body_bytes=max_body, concurrent_requests=concurrent)
    try:
        proxy_limits(sizes)
    except ProxyConfigError as e:
        key = "proxyConcurrentRequests" if e.name == "concurrent_requests" else "proxyMaxBodyBytes"
        raise ConfigError(r.full(key), e.received, f"{e.expected.replace('memory ', r.full('proxyMemory') + ' ')} "
                          f"(proxyCpu {cpu:g}; the proxy stays within half the replica's memory)") from None
