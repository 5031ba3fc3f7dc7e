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
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Optional

from components.proxy_config import (
    CONTAINER_APPS_PLATFORM_CIDRS,
    ProxyConfigError,
    ProxySettings,
    check_trusted_proxy_cidrs,
)
from infra.config_operations import OperationsSettings, parse_operations
from infra import endpoint_ips
from infra.azure_ids import parse_zone_id
from infra.config_schema import KEYS_BY_NAME, NAMESPACE
from infra import stack_names, stackfile
from infra.errors import ConfigError
from infra.monitoring_config import MonitoringSettings, parse_monitoring

LIFECYCLES = ("prod", "test", "ephemeral")
FACE_KINDS = ("Face", "AIServices")
PRIVATE_DNS_MODES = ("create", "existing", "policy")
CERTIFICATE_SOURCES = ("managed", "keyvault")
DOMAIN_BINDINGS = ("auto", "bootstrap", "bound")
DNS_MODES = ("create", "existing", "external")
REGISTRATION_STATES = ("none", "requested", "verifying", "registered")
UPSTREAM_HOST_MODES = ("client", "account")

COGNITIVE_ZONE = "privatelink.cognitiveservices.azure.com"
AI_SERVICES_EXTRA_ZONES = ("privatelink.openai.azure.com", "privatelink.services.ai.azure.com")
DEFAULT_PROXY_IMAGE = "docker.io/library/nginx:1.28.0-alpine"
MIN_APPS_SUBNET_PREFIXLEN = 27  # workload-profiles environments need at least a /27
MIN_ENDPOINTS_SUBNET_PREFIXLEN = 28
INGRESS_TIMEOUT_SECONDS = 240  # Container Apps ingress request timeout

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")  # one DNS label: 1-63
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
    upstream_host: str = "client"  # Host sent to Face: the client's, or the account hostname


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
    monitoring: MonitoringSettings
    operations: OperationsSettings = OperationsSettings()

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
            upstream_address=self.face.account_host_ip,
            upstream_host=p.upstream_host,
            cpu=p.cpu,
            concurrent_requests=p.concurrent_requests,
        )


# ---------------------------------------------------------------------------------------------
# Typed reading of raw values
# ---------------------------------------------------------------------------------------------


class _Reader:
    """Reads `liveness:` keys from a mapping of runtime strings (see :func:`runtime_strings`).

    Every value is the string the Pulumi runtime delivers; lists and mappings are JSON text. An
    empty value, or the text `null` (what `~`, `null` or an empty value in a stack file becomes),
    means unset, everywhere.
    """

    def __init__(self, raw: Mapping[str, str]):
        self.raw = raw

    def _value(self, name: str) -> Optional[str]:
        assert name in KEYS_BY_NAME, f"undeclared config key {name}"
        value = self.raw.get(name)
        if value is None:
            return None
        value = value.strip()
        if value == "" or value == "null":
            return None
        return value

    def full(self, name: str) -> str:
        return f"{NAMESPACE}:{name}"

    def string(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self._value(name)
        if value is None:
            return default
        if value[0] in "[{":
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, (list, dict)):
                raise ConfigError(self.full(name), value, f"a string, not a {'list' if isinstance(parsed, list) else 'mapping'}")
        if len(value) > MAX_STRING:
            raise ConfigError(self.full(name), value, f"a string of at most {MAX_STRING} characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ConfigError(self.full(name), value, "a single line without control characters")
        return value

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
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ConfigError(self.full(name), value, "true or false")

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        value = self._value(name)
        if value is None:
            return default
        if not _INTEGER.match(value):
            raise ConfigError(self.full(name), value, f"a whole number from {lo} to {hi}")
        number = int(value)
        if not lo <= number <= hi:
            raise ConfigError(self.full(name), value, f"a whole number from {lo} to {hi}")
        return number

    def number(self, name: str, default: float, lo: float, hi: float) -> float:
        value = self._value(name)
        if value is None:
            return default
        number = float(value) if _NUMBER.match(value) else float("nan")
        if not lo <= number <= hi:  # also false for nan and infinities
            raise ConfigError(self.full(name), value, f"a number from {lo:g} to {hi:g}")
        return number

    def _structured(self, name: str, kind: type) -> Any:
        value = self._value(name)
        if value is None:
            return None
        what = "list" if kind is list else "mapping"
        if len(value) > MAX_STRUCTURED:
            raise ConfigError(self.full(name), value, f"a {what} of at most {MAX_STRUCTURED} characters as JSON")
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            raise ConfigError(self.full(name), value, f"a {what}: a YAML {what} in the stack file, or JSON {what} text") from None
        if parsed is not None and not isinstance(parsed, kind):
            raise ConfigError(self.full(name), value, f"a {what}")
        return parsed

    def string_list(self, name: str) -> tuple[str, ...]:
        value = self._structured(name, list) or []
        for item in value:
            if not isinstance(item, str) or not item.strip() or not _printable(item):
                raise ConfigError(self.full(name), value, "a list of non-empty one-line strings")
        return tuple(item.strip() for item in value)

    def string_map(self, name: str) -> dict[str, str]:
        value = self._structured(name, dict) or {}
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (int, float)):
                v = json.dumps(v)
            if not isinstance(v, str) or not _printable(k) or not _printable(v):
                raise ConfigError(self.full(name), value, "a mapping of string keys to string values")
            out[k] = v
        return out


def _printable(text: str) -> bool:
    """One line of text UTF-8 can carry: no control characters, no lone surrogates."""
    return not any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in text)


# Upper bounds on raw values: far above anything real, low enough that nothing downstream chokes.
MAX_STRING = 2048
MAX_STRUCTURED = 64 * 1024
_INTEGER = re.compile(r"^[-+]?[0-9]{1,15}$")
_NUMBER = re.compile(r"^[-+]?(\.[0-9]+|[0-9]{1,15}(\.[0-9]*)?)([eE][-+]?[0-9]{1,3})?$")


def runtime_strings(raw: Mapping[Any, Any], where: str = NAMESPACE) -> dict[str, str]:
    """`raw` as the Pulumi runtime delivers config: every value a string.

    Strings pass through; other values (from callers holding native values, e.g. tests) become
    the text the runtime would carry: `true`/`false`, decimal numbers, `null`, JSON for lists and
    mappings. A value no runtime could carry (a lone surrogate, a NUL, an int too large to print)
    is a ConfigError naming its key.
    """
    from infra.stack_yaml import go_json_float

    out: dict[str, str] = {}
    for key, value in raw.items():
        name = key if isinstance(key, str) else str(key)
        full = name if ":" in name or where == "" else f"{where}:{name}"
        try:
            if isinstance(value, str):
                text = value
            elif value is None:
                text = "null"
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, int):
                text = str(value)
            elif isinstance(value, float):
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError("not a finite number")
                text = go_json_float(value)
            elif isinstance(value, (list, tuple, dict)):
                text = json.dumps(value, allow_nan=False, sort_keys=False, separators=(",", ":"))
            else:
                raise ValueError(f"a {type(value).__name__}")
        except (ValueError, TypeError, RecursionError):
            raise ConfigError(full, value, "a string, number, true/false, list or mapping") from None
        if any(0xD800 <= ord(c) <= 0xDFFF or c == "\x00" for c in text):
            raise ConfigError(full, text, "text that UTF-8 can carry (no lone surrogates or NUL)")
        out[name] = text
    return out


# ---------------------------------------------------------------------------------------------
# Validation helpers
# ---------------------------------------------------------------------------------------------


# Address ranges a VNet here may use: the RFC 1918 private blocks and the RFC 6598 shared address
# space, which Azure treats as private too (a default system route with next hop None covers all
# four until a VNet uses them: learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview).
VNET_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
VNET_RANGES_TEXT = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918) or 100.64.0.0/10 (RFC 6598)"
# Ranges the Container Apps environment's subnet must not overlap (reserved by the platform:
# learn.microsoft.com/azure/container-apps/custom-virtual-networks, "Subnet address range restrictions").
APPS_RESERVED = tuple(ipaddress.IPv4Network(n) for n in (
    "169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24",
    "100.100.0.0/17", "100.100.128.0/19", "100.100.160.0/19", "100.100.192.0/19"))


def _network(reader: _Reader, name: str, default: str) -> ipaddress.IPv4Network:
    text = reader.string(name, default)
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ConfigError(reader.full(name), text, "an IPv4 CIDR with no host bits set, e.g. 10.40.0.0/16") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ConfigError(reader.full(name), text, "an IPv4 CIDR (Azure subnets here are IPv4)")
    if not any(net.subnet_of(allowed) for allowed in VNET_RANGES):
        raise ConfigError(reader.full(name), text, f"a private range inside {VNET_RANGES_TEXT}")
    return net


# Sources allowed to reach the private endpoint. A union wider than a /8 (16,777,216 addresses,
# the largest private block an organisation can own, 10.0.0.0/8) is no longer "the app server's
# network" but most of the address space, e.g. 0.0.0.0/1 + 128.0.0.0/1 is every IPv4 address.
MAX_CLIENT_ADDRESSES = 2**24
# Azure allows 4,000 IP addresses and ranges as sources per network security group
# (MicrosoftDocs/azure-docs includes/azure-virtual-network-limits.md); the endpoints NSG also
# names the apps subnet as a source.
MAX_CLIENT_CIDRS = 4000 - 1
_NOT_A_SOURCE = tuple(ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"))


def _client_cidrs(r: _Reader) -> tuple[str, ...]:
    key = "faceAllowedClientCidrs"
    clients = r.string_list(key)
    if len(set(clients)) > MAX_CLIENT_CIDRS:
        raise ConfigError(r.full(key), f"{len(set(clients))} ranges",
                          f"at most {MAX_CLIENT_CIDRS} ranges (Azure's 4,000 source prefixes per NSG, less the apps subnet)")
    nets = []
    for cidr in clients:
        try:
            net = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            raise ConfigError(r.full(key), cidr, "IPv4 CIDR ranges with no host bits set, e.g. 10.50.1.0/24") from None
        if net.prefixlen == 0:
            raise ConfigError(r.full(key), cidr, "a specific range (0.0.0.0/0 would open the endpoint to everything)")
        special = next((s for s in _NOT_A_SOURCE if net.overlaps(s)), None)
        if special is not None:
            raise ConfigError(r.full(key), cidr, f"a range outside {special} (it cannot be a client's address)")
        nets.append(net)
    covered = sum(n.num_addresses for n in ipaddress.collapse_addresses(nets))
    if covered > MAX_CLIENT_ADDRESSES:
        raise ConfigError(r.full(key), list(clients),
                          f"ranges covering at most {MAX_CLIENT_ADDRESSES:,} addresses together (a /8); these cover {covered:,}")
    return clients


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


MAX_INSTANCE_SUFFIX = 20  # run ids are ~11 digits; keeps <prefix>-face-<suffix> within one DNS label


def default_name_prefix(stack: str) -> str:
    """`fl-<stack>` made a valid prefix: lower case, other characters as hyphens, at most 16."""
    text = re.sub(r"[^a-z0-9]+", "-", f"fl-{stack}".lower())
    return text[:16].strip("-")


def _stack_hash(stack: str, salt: str = "") -> str:
    return hashlib.sha256(f"{stack}/{salt}".encode()).hexdigest()[:6]


ISSUED_AT_YEARS = (2020, 2199)  # Face liveness registration exists since 2024; anything outside is a typo


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
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 falls before year 1 in UTC
        moment = None
    if moment is None or not ISSUED_AT_YEARS[0] <= moment.year <= ISSUED_AT_YEARS[1]:
        raise ConfigError(reader.full("verificationCodeIssuedAt"), text,
                          f"a time between the years {ISSUED_AT_YEARS[0]} and {ISSUED_AT_YEARS[1]}, e.g. 2026-11-20T09:30:00Z")
    return moment


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
    alert_webhook_is_secret: Optional[bool] = None,
) -> Settings:
    """Validate the `liveness:` config of `stack` (keys without namespace) into Settings.

    `provider_location` is `azure-native:location`, used when `liveness:location` is unset.
    `verification_code_is_secret` tells whether the runtime holds the code as a secret (None when
    unknown, e.g. a stack file where only `secure:` values are possible anyway).
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(NAMESPACE, raw, "a mapping of config keys to values")
    raw = runtime_strings(raw)
    _check_unknown_keys(raw)
    r = _Reader(raw)
    if provider_location is not None and not isinstance(provider_location, str):
        provider_location = runtime_strings({"azure-native:location": provider_location}, "")["azure-native:location"]

    lifecycle = r.choice("lifecycle", LIFECYCLES, "prod")
    prod = lifecycle == "prod"
    ephemeral = lifecycle == "ephemeral"

    location = r.string("location") or (provider_location.strip() if provider_location else None)
    if location == "null":
        location = None
    if not location:
        raise ConfigError(r.full("location"), None, "an Azure region such as westeurope (or set azure-native:location)")
    if not _LOCATION.match(location):
        raise ConfigError(r.full("location") if r.string("location") else "azure-native:location", location, "an Azure region name in lower case, e.g. westeurope")

    name_prefix = r.string("namePrefix", default_name_prefix(stack))
    if not _PREFIX.match(name_prefix) or name_prefix.endswith("-") or "--" in name_prefix:
        raise ConfigError(r.full("namePrefix"), name_prefix,
                          "2-16 characters: a lower-case letter, then lower-case letters, digits or single inner hyphens")
    suffix = r.string("instanceSuffix")
    if suffix is not None and (len(suffix) > MAX_INSTANCE_SUFFIX or not _SUBDOMAIN.match(suffix.lower())):
        raise ConfigError(r.full("instanceSuffix"), suffix,
                          f"1-{MAX_INSTANCE_SUFFIX} lower-case letters, digits and inner hyphens")
    suffix = suffix.lower() if suffix is not None else None
    if ephemeral and suffix is None:
        suffix = _stack_hash(stack)
    resource_group_name = r.string("resourceGroupName", f"rg-{name_prefix}")
    if not re.match(r"^[-\w.()]{1,89}[-\w()]$", resource_group_name):
        raise ConfigError(r.full("resourceGroupName"), resource_group_name,
                          "1-90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'")
    tags = {**_user_tags(r), "environment": lifecycle, "stack": stack, "managed-by": "pulumi"}

    network = _parse_network(r)
    face = _with_endpoint_addressing(r, _parse_face(r, name_prefix, suffix, stack), network)
    proxy = replace(_parse_proxy(r, prod, network, stack),
                    upstream_host=r.choice("proxyUpstreamHost", UPSTREAM_HOST_MODES, "client"))
    dns = _parse_dns(r, proxy.host)
    registration = _parse_registration(r, proxy.host, verification_code_is_secret)
    monitoring = _parse_monitoring(r, prod, alert_webhook_is_secret)

    settings = Settings(
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
        monitoring=monitoring,
        operations=parse_operations(r, lifecycle),
    )
    _check_renderable(settings)
    return settings


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
}


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
    for rule in ip_rules:
        try:
            ipaddress.ip_network(rule, strict=False)
        except ValueError:
            raise ConfigError(r.full("faceIpRules"), rule, "IPv4 addresses or CIDR ranges") from None
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


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def load_stack_settings(stack: str, template: Optional[str] = None) -> Settings:
    """Settings for a stack from stacks/Pulumi.<stack>.yaml (no Pulumi CLI, no credentials).

    `template` reads stacks/Pulumi.<template>.yaml instead while keeping `stack` as the stack
    name, which is how ephemeral `pr-<N>` stacks are derived from the `pr` template; a `pr-<N>`
    stack without a file of its own uses that template without being told.
    """
    source = stack_names.config_template(stack, template, stackfile.STACKS_DIR) or stack
    config, secure = stackfile.read_stack_config_and_secure_keys(source)
    return settings_from_stack_config(stack, config, secure)


def settings_from_stack_config(stack: str, config: Mapping[str, str], secure: set[str] | frozenset[str]) -> Settings:
    """Settings from a stack file's `config:` as infra/stack_yaml.py reads it (runtime strings)."""
    key = f"{NAMESPACE}:verificationCode"
    webhook = f"{NAMESPACE}:alertWebhookUrl"
    return parse_settings(
        stack,
        stackfile.namespaced(config, NAMESPACE),
        provider_location=config.get("azure-native:location"),
        # A stack file can hold the code only encrypted (`pulumi config set --secret`).
        verification_code_is_secret=(key in secure) if key in config else None,
        alert_webhook_is_secret=(webhook in secure) if webhook in config else None,
    )


def load_runtime_settings(
    get_all: Callable[[], Mapping[str, Any]], is_secret: Callable[[str], bool], stack: str
) -> Settings:
    """Settings inside a Pulumi program: `get_all` returns every `ns:key` config entry."""
    config = dict(get_all())
    key = f"{NAMESPACE}:verificationCode"
    webhook = f"{NAMESPACE}:alertWebhookUrl"
    return parse_settings(
        stack,
        stackfile.namespaced(config, NAMESPACE),
        provider_location=config.get("azure-native:location"),
        verification_code_is_secret=is_secret(key) if key in config else None,
        alert_webhook_is_secret=is_secret(webhook) if webhook in config else None,
    )
