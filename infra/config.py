"""One typed, validated view of a stack's configuration.

`parse_settings` turns the raw `liveness:` config of a stack (strings from the Pulumi runtime, or
native YAML values from a stack file) into frozen dataclasses. Every error is a ConfigError naming
the key, what was received and what is expected. Nothing here talks to Azure or Pulumi.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional

from components.proxy_config import (
    CONTAINER_APPS_PLATFORM_CIDRS,
    ProxyConfigError,
    ProxySettings,
    check_trusted_proxy_cidrs,
)
from infra.config_schema import KEYS_BY_NAME, NAMESPACE
from infra.errors import ConfigError

LIFECYCLES = ("prod", "test", "ephemeral")
FACE_KINDS = ("Face", "AIServices")
PRIVATE_DNS_MODES = ("create", "existing", "policy")
CERTIFICATE_SOURCES = ("managed", "keyvault")
DOMAIN_BINDINGS = ("auto", "bootstrap", "bound")
DNS_MODES = ("create", "existing", "external")
REGISTRATION_STATES = ("none", "requested", "verifying", "registered")

COGNITIVE_ZONE = "privatelink.cognitiveservices.azure.com"
AI_SERVICES_EXTRA_ZONES = ("privatelink.openai.azure.com", "privatelink.services.ai.azure.com")
DEFAULT_PROXY_IMAGE = "docker.io/library/nginx:1.28.0-alpine"
MIN_APPS_SUBNET_PREFIXLEN = 27  # workload-profiles environments need at least a /27
MIN_ENDPOINTS_SUBNET_PREFIXLEN = 28
INGRESS_TIMEOUT_SECONDS = 240  # Container Apps ingress request timeout

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,15}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,40}$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)Gi$")
_KV_SECRET_URL = re.compile(r"^https://[a-z0-9-]{3,24}\.vault\.azure\.(net|cn|us)/secrets/[A-Za-z0-9-]+(/[0-9a-f]{32})?/?$")
_RESOURCE_ID = re.compile(r"^/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/.+", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Settings dataclasses
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkSettings:
    vnet_address_space: str
    apps_subnet_prefix: str
    endpoints_subnet_prefix: str
    endpoint_client_cidrs: tuple[str, ...] = ()  # besides the apps subnet


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

    @property
    def endpoint_host(self) -> str:
        return f"{self.custom_subdomain}.cognitiveservices.azure.com"

    @property
    def private_zone_names(self) -> tuple[str, ...]:
        """Private DNS zones the account's endpoint needs, for its kind."""
        if self.kind == "AIServices":
            return (COGNITIVE_ZONE, *AI_SERVICES_EXTRA_ZONES)
        return (COGNITIVE_ZONE,)


@dataclass(frozen=True)
class ProxyAppSettings:
    host: str
    image: str
    cpu: float
    memory: str
    min_replicas: int
    max_replicas: int
    concurrent_requests: int
    zone_redundant: bool
    allow_browser_preflight: bool
    rate_limit_per_second: int
    rate_limit_burst: int
    max_body_bytes: int
    trusted_proxy_cidrs: tuple[str, ...]
    client_timeout_seconds: int
    upstream_timeout_seconds: int
    certificate_source: str
    domain_binding: str
    key_vault_certificate_url: Optional[str]
    key_vault_identity: Optional[str]


@dataclass(frozen=True)
class DnsSettings:
    mode: str
    zone_name: Optional[str]
    zone_resource_group: Optional[str]
    record_ttl: int
    verification_ttl: int


@dataclass(frozen=True)
class RegistrationSettings:
    state: str
    verification_code_configured: bool
    verification_code_issued_at: Optional[datetime]
    registered_proxy_host: Optional[str]
    allow_proxy_host_change: bool

    @property
    def registered(self) -> bool:
        return self.state == "registered"


@dataclass(frozen=True)
class Settings:
    stack: str
    lifecycle: str
    location: str
    name_prefix: str
    resource_group_name: str
    tags: dict[str, str]
    network: NetworkSettings
    face: FaceSettings
    proxy: ProxyAppSettings
    dns: DnsSettings
    registration: RegistrationSettings

    @property
    def prod_like(self) -> bool:
        return self.lifecycle == "prod"

    @property
    def protect(self) -> bool:
        """Protect the account, the public zone and the verification record."""
        return self.prod_like

    @property
    def may_tear_down(self) -> bool:
        return self.lifecycle in ("test", "ephemeral")

    def resource_name(self, suffix: str) -> str:
        return f"{self.name_prefix}-{suffix}"

    def proxy_settings(self) -> ProxySettings:
        """What the nginx configuration of this stack is rendered from."""
        p = self.proxy
        return ProxySettings(
            face_host=self.face.endpoint_host,
            allow_options=p.allow_browser_preflight,
            rate_limit_per_second=p.rate_limit_per_second,
            rate_limit_burst=p.rate_limit_burst,
            max_body_bytes=p.max_body_bytes,
            trusted_proxy_cidrs=p.trusted_proxy_cidrs,
            client_timeout_seconds=p.client_timeout_seconds,
            upstream_timeout_seconds=p.upstream_timeout_seconds,
            upstream_address=str(ipaddress.ip_network(self.network.endpoints_subnet_prefix)[4]),  # PLACEHOLDER (i8-platform fills the fixed private endpoint IP from config)
        )


# ---------------------------------------------------------------------------------------------
# Typed reading of raw values
# ---------------------------------------------------------------------------------------------


class _Reader:
    """Reads `liveness:` keys from a mapping, converting strings or native values to types."""

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw

    def _value(self, name: str) -> Any:
        assert name in KEYS_BY_NAME, f"undeclared config key {name}"
        value = self.raw.get(name)
        if isinstance(value, str) and value.strip() == "":
            return None
        return value

    def full(self, name: str) -> str:
        return f"{NAMESPACE}:{name}"

    def string(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self._value(name)
        if value is None:
            return default
        if isinstance(value, (dict, list, bool)):
            raise ConfigError(self.full(name), value, "a string")
        return str(value).strip()

    def require(self, name: str, hint: str) -> str:
        value = self.string(name)
        if value is None:
            raise ConfigError(self.full(name), None, f"a value ({hint})")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(name, default)
        assert value is not None
        if value not in choices:
            close = difflib.get_close_matches(value, choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(self.full(name), value, f"one of {', '.join(choices)}{hint}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._value(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ConfigError(self.full(name), value, "true or false")

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self._value(name)
        if value is None:
            return default
        try:
            if isinstance(value, bool) or isinstance(value, float):
                raise ValueError
            number = int(str(value).strip())
        except ValueError:
            raise ConfigError(self.full(name), value, f"a whole number from {lo} to {hi}") from None
        if not lo <= number <= hi:
            raise ConfigError(self.full(name), value, f"a whole number from {lo} to {hi}")
        return number

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        value = self._value(name)
        if value is None:
            return default
        try:
            if isinstance(value, bool):
                raise ValueError
            number = float(str(value).strip())
        except ValueError:
            raise ConfigError(self.full(name), value, f"a number from {lo} to {hi}") from None
        if not lo <= number <= hi:
            raise ConfigError(self.full(name), value, f"a number from {lo} to {hi}")
        return number

    def _structured(self, name: str, kind: type) -> Any:
        value = self._value(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(self.full(name), value, f"a JSON {kind.__name__}") from None
        if value is not None and not isinstance(value, kind):
            raise ConfigError(self.full(name), value, f"a {'list' if kind is list else 'mapping'}")
        return value

    def string_list(self, name: str) -> tuple[str, ...]:
        value = self._structured(name, list) or []
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(self.full(name), value, "a list of non-empty strings")
        return tuple(item.strip() for item in value)

    def string_map(self, name: str) -> dict[str, str]:
        value = self._structured(name, dict) or {}
        for k, v in value.items():
            if not isinstance(k, str) or isinstance(v, (dict, list)):
                raise ConfigError(self.full(name), value, "a mapping of string keys to string values")
        return {str(k): str(v) for k, v in value.items()}


# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------


def _network(reader: _Reader, name: str, default: str) -> ipaddress.IPv4Network:
    text = reader.string(name, default)
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ConfigError(reader.full(name), text, "an IPv4 CIDR with no host bits set, e.g. 10.40.0.0/16") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ConfigError(reader.full(name), text, "an IPv4 CIDR (Azure subnets here are IPv4)")
    if not net.is_private:
        raise ConfigError(reader.full(name), text, "a private (RFC 1918) range")
    return net


def _hostname(reader: _Reader, name: str, value: str, min_labels: int = 2) -> str:
    host = value.rstrip(".").lower()
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < min_labels
        or not all(_HOST_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ConfigError(
            reader.full(name), value,
            f"a DNS hostname of at least {min_labels} labels (letters, digits, hyphens), e.g. liveness.contoso.com",
        )
    return host


def _stack_hash(stack: str, salt: str = "") -> str:
    return hashlib.sha256(f"{stack}/{salt}".encode()).hexdigest()[:6]


def _parse_issued_at(reader: _Reader) -> Optional[datetime]:
    text = reader.string("verificationCodeIssuedAt")
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(reader.full("verificationCodeIssuedAt"), text,
                          "an ISO-8601 time with zone, e.g. 2026-11-20T09:30:00Z") from None
    if moment.tzinfo is None:
        raise ConfigError(reader.full("verificationCodeIssuedAt"), text,
                          "an ISO-8601 time with a zone (Z or +hh:mm)")
    return moment.astimezone(timezone.utc)


def _check_unknown_keys(raw: Mapping[str, Any]) -> None:
    for name in raw:
        if name not in KEYS_BY_NAME:
            close = difflib.get_close_matches(name, list(KEYS_BY_NAME), n=1)
            hint = f" (did you mean {NAMESPACE}:{close[0]}?)" if close else ""
            raise ConfigError(f"{NAMESPACE}:{name}", raw[name], f"no such key: use a key from the config reference{hint}")


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def parse_settings(
    stack: str,
    raw: Mapping[str, Any],
    *,
    provider_location: Optional[str] = None,
    verification_code_is_secret: Optional[bool] = None,
) -> Settings:
    """Validate the `liveness:` config of `stack` (keys without namespace) into Settings.

    `provider_location` is `azure-native:location`, used when `liveness:location` is unset.
    `verification_code_is_secret` tells whether the runtime holds the code as a secret (None when
    unknown, e.g. a stack file where only `secure:` values are possible anyway).
    """
    _check_unknown_keys(raw)
    r = _Reader(raw)

    lifecycle = r.choice("lifecycle", LIFECYCLES, "prod")
    prod = lifecycle == "prod"
    ephemeral = lifecycle == "ephemeral"

    location = r.string("location") or (provider_location.strip() if provider_location else None)
    if not location:
        raise ConfigError(r.full("location"), None, "an Azure region such as westeurope (or set azure-native:location)")
    if not _LOCATION.match(location):
        raise ConfigError(r.full("location"), location, "an Azure region name in lower case, e.g. westeurope")

    default_prefix = f"fl-{stack}".lower()[:16].rstrip("-")
    name_prefix = r.string("namePrefix", default_prefix)
    if not _PREFIX.match(name_prefix) or name_prefix.endswith("-"):
        raise ConfigError(r.full("namePrefix"), name_prefix,
                          "2-16 characters: a lower-case letter, then lower-case letters, digits or hyphens")
    suffix = r.string("instanceSuffix")
    if suffix is not None and not _SUBDOMAIN.match(suffix.lower()):
        raise ConfigError(r.full("instanceSuffix"), suffix, "lower-case letters, digits and inner hyphens")
    if ephemeral and suffix is None:
        suffix = _stack_hash(stack)
    resource_group_name = r.string("resourceGroupName", f"rg-{name_prefix}")
    if not re.match(r"^[-\w.()]{1,89}[-\w()]$", resource_group_name):
        raise ConfigError(r.full("resourceGroupName"), resource_group_name,
                          "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'")
    tags = {**r.string_map("tags"), "environment": lifecycle, "stack": stack, "managed-by": "pulumi"}

    network = _parse_network(r)
    face = _parse_face(r, name_prefix, suffix, stack)
    proxy = _parse_proxy(r, prod, network, stack)
    dns = _parse_dns(r, proxy.host)
    registration = _parse_registration(r, proxy.host, verification_code_is_secret)

    return Settings(
        stack=stack,
        lifecycle=lifecycle,
        location=location,
        name_prefix=name_prefix,
        resource_group_name=resource_group_name,
        tags=tags,
        network=network,
        face=face,
        proxy=proxy,
        dns=dns,
        registration=registration,
    )


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
    clients = r.string_list("faceAllowedClientCidrs")
    for cidr in clients:
        try:
            ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            raise ConfigError(r.full("faceAllowedClientCidrs"), cidr, "IPv4 CIDR ranges with no host bits set") from None
        if ipaddress.IPv4Network(cidr).prefixlen == 0:
            raise ConfigError(r.full("faceAllowedClientCidrs"), cidr, "a specific range (0.0.0.0/0 would open the endpoint to everything)")
    return NetworkSettings(str(vnet), str(apps), str(endpoints), clients)


def _parse_face(r: _Reader, name_prefix: str, suffix: Optional[str], stack: str) -> FaceSettings:
    kind = r.choice("faceKind", FACE_KINDS, "Face")
    sku = r.string("faceSku", "S0")
    if sku != "S0":
        raise ConfigError(r.full("faceSku"), sku, "S0 (liveness detection needs the standard tier)")
    default_sub = f"{name_prefix}-face" + (f"-{suffix}" if suffix else "")
    sub = r.string("faceCustomSubdomain", default_sub).lower()
    if len(sub) < 2 or len(sub) > 64 or not _SUBDOMAIN.match(sub):
        raise ConfigError(r.full("faceCustomSubdomain"), sub,
                          "2-64 lower-case letters, digits and inner hyphens (globally unique)")
    ip_rules = r.string_list("faceIpRules")
    for rule in ip_rules:
        try:
            ipaddress.ip_network(rule, strict=False)
        except ValueError:
            raise ConfigError(r.full("faceIpRules"), rule, "IPv4 addresses or CIDR ranges") from None
    fqdns = tuple(_hostname(r, "faceAllowedFqdns", f) for f in r.string_list("faceAllowedFqdns"))
    mode = r.choice("privateDnsMode", PRIVATE_DNS_MODES, "create")
    zone_ids = r.string_list("privateDnsZoneIds")
    if mode == "existing":
        if not zone_ids:
            raise ConfigError(r.full("privateDnsZoneIds"), [], "at least the id of privatelink.cognitiveservices.azure.com (privateDnsMode existing)")
        for zid in zone_ids:
            if not _RESOURCE_ID.match(zid) or "/privatednszones/" not in zid.lower():
                raise ConfigError(r.full("privateDnsZoneIds"), zid, "resource ids of Microsoft.Network/privateDnsZones")
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
    return ProxyAppSettings(
        host=host,
        image=image,
        cpu=cpu,
        memory=memory,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        concurrent_requests=r.integer("proxyConcurrentRequests", 50, 1, 10000),
        zone_redundant=r.boolean("proxyZoneRedundant", prod),
        allow_browser_preflight=r.boolean("proxyAllowBrowserPreflight", False),
        rate_limit_per_second=r.integer("proxyRateLimitPerSecond", 10, 1, 10000),
        rate_limit_burst=r.integer("proxyRateLimitBurst", 20, 0, 100000),
        max_body_bytes=r.integer("proxyMaxBodyBytes", 8 * 1024 * 1024, 1024, 64 * 1024 * 1024),
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
            raise ConfigError(r.full("dnsZoneName"), zone,
                              f"a zone that {proxy_host} is strictly below (a CNAME cannot sit at the zone apex)")
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


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def load_stack_settings(stack: str, template: Optional[str] = None) -> Settings:
    """Settings for a stack from stacks/Pulumi.<stack>.yaml (no Pulumi CLI, no credentials).

    `template` reads stacks/Pulumi.<template>.yaml instead while keeping `stack` as the stack
    name, which is how ephemeral `pr-<N>` stacks are derived from the `pr` template; a `pr-<N>`
    stack without a file of its own uses that template without being told.
    """
    from infra import ephemeral, stackfile

    source = ephemeral.config_template(stack, template, stackfile.STACKS_DIR) or stack
    config, secure = stackfile.read_stack_config_and_secure_keys(source)
    key = f"{NAMESPACE}:verificationCode"
    return parse_settings(
        stack,
        stackfile.namespaced(config, NAMESPACE),
        provider_location=config.get("azure-native:location"),
        # A stack file can hold the code only encrypted (`pulumi config set --secret`).
        verification_code_is_secret=(key in secure) if key in config else None,
    )


def load_runtime_settings(
    get_all: Callable[[], Mapping[str, Any]], is_secret: Callable[[str], bool], stack: str
) -> Settings:
    """Settings inside a Pulumi program: `get_all` returns every `ns:key` config entry."""
    from infra import stackfile

    config = dict(get_all())
    key = f"{NAMESPACE}:verificationCode"
    return parse_settings(
        stack,
        stackfile.namespaced(config, NAMESPACE),
        provider_location=config.get("azure-native:location"),
        verification_code_is_secret=is_secret(key) if key in config else None,
    )
