"""The Proxy group: the host, the Container App's size and scale, the nginx limits, the certificate.

The values the nginx configuration is rendered from are checked once more by the renderer's own
validation (components/proxy_settings.py) through :func:`check_renderable`, so a config that
validates always renders.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Optional

from components.proxy_settings import (
    CONTAINER_APPS_PLATFORM_CIDRS, ProxyConfigError, ProxySettings, check_trusted_proxy_cidrs, proxy_limits, validate,
)
from infra.config.network import NetworkSettings
from infra.config.reader import Reader, hostname
from infra.config.schema import KEYS_BY_NAME, NAMESPACE
from infra.errors import ConfigError

_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)Gi$")
_KV_SECRET_URL = re.compile(r"^https://[a-z0-9-]{3,24}\.vault\.azure\.(net|cn|us)/secrets/[A-Za-z0-9-]+(/[0-9a-f]{32})?/?$")
_RESOURCE_ID = re.compile(r"^/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/.+", re.IGNORECASE)

# ProxySettings field → the config key it comes from, for errors the nginx renderer reports.
PROXY_FIELD_KEYS = {
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
PROXY_FIELDS_NOT_FROM_CONFIG = frozenset({"listen_port", "health_port", "ca_bundle", "upstream_idle_ms"})


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
    upstream_host: str = KEYS_BY_NAME["proxyUpstreamHost"].spec.value  # Host sent to Face


def parse_proxy(r: Reader, prod: bool, network: NetworkSettings, stack: str) -> ProxyAppSettings:
    raw_host = r.require("proxyHost", "the public hostname of the proxy, e.g. liveness.contoso.com")
    # `{stack}` lets one template (stacks/Pulumi.pr.yaml) give every ephemeral stack its own host.
    host = hostname(r, "proxyHost", raw_host.replace("{stack}", stack), min_labels=3)
    image = _image(r)
    cpu = r.number("proxyCpu")
    memory = r.text("proxyMemory")
    m = _MEMORY.match(memory)
    if not m or float(m.group(1)) <= 0 or float(m.group(1)) > cpu * 2:
        raise ConfigError(r.full("proxyMemory"), memory, f"a size like 1Gi, at most 2Gi per vCPU ({cpu * 2:g}Gi for proxyCpu {cpu:g})")
    min_replicas, max_replicas = _replicas(r, prod)
    trusted = _trusted_proxy_cidrs(r, network)
    client_timeout = r.integer("proxyClientTimeoutSeconds")
    upstream_timeout = r.integer("proxyUpstreamTimeoutSeconds")
    source, binding, kv_url, kv_identity = _certificate(r)
    max_body = r.integer("proxyMaxBodyBytes")
    concurrent = r.integer("proxyConcurrentRequests")
    _check_memory_bound(r, cpu, memory, max_body, concurrent)
    return ProxyAppSettings(
        host=host,
        image=image,
        cpu=cpu,
        memory=memory,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        concurrent_requests=concurrent,
        zone_redundant=r.boolean("proxyZoneRedundant", prod=prod),
        allow_browser_preflight=r.boolean("proxyAllowBrowserPreflight"),
        rate_limit_per_second=r.integer("proxyRateLimitPerSecond"),
        rate_limit_burst=r.integer("proxyRateLimitBurst"),
        max_body_bytes=max_body,
        trusted_proxy_cidrs=trusted,
        client_timeout_seconds=client_timeout,
        upstream_timeout_seconds=upstream_timeout,
        certificate_source=source,
        domain_binding=binding,
        key_vault_certificate_url=kv_url,
        key_vault_identity=kv_identity,
        upstream_host=r.choice("proxyUpstreamHost"),
    )


def _image(r: Reader) -> str:
    image = r.text("proxyImage")
    if "@sha256:" not in image:
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if not tag or tag == "latest":
            example = KEYS_BY_NAME["proxyImage"].spec.value
            raise ConfigError(r.full("proxyImage"), image, "an nginx image pinned by tag or digest, e.g. " + example)
    return image


def _replicas(r: Reader, prod: bool) -> tuple[int, int]:
    min_replicas = r.integer("proxyMinReplicas", prod=prod)
    max_replicas = r.integer("proxyMaxReplicas")
    if prod and min_replicas < 2:
        raise ConfigError(r.full("proxyMinReplicas"), min_replicas, "at least 2 for a prod lifecycle stack (the proxy is the only door)")
    if max_replicas < min_replicas:
        raise ConfigError(r.full("proxyMaxReplicas"), max_replicas, f"at least proxyMinReplicas ({min_replicas})")
    return min_replicas, max_replicas


def _certificate(r: Reader) -> tuple[str, str, Optional[str], Optional[str]]:
    """(source, domain binding, Key Vault secret URL, Key Vault identity), checked together."""
    source = r.choice("proxyCertificateSource")
    binding = r.choice("proxyDomainBinding")
    kv_url = r.string("proxyKeyVaultCertificateUrl")
    kv_identity = r.string("proxyKeyVaultIdentity")
    if source == "keyvault":
        if not kv_url or not _KV_SECRET_URL.match(kv_url):
            raise ConfigError(r.full("proxyKeyVaultCertificateUrl"), kv_url,
                              "a Key Vault secret URL such as https://kv-name.vault.azure.net/secrets/liveness-cert")
        if not kv_identity or not _RESOURCE_ID.match(kv_identity) or "/userassignedidentities/" not in kv_identity.lower():
            raise ConfigError(r.full("proxyKeyVaultIdentity"), kv_identity, "the resource id of a user-assigned managed identity")
        if r.string("proxyDomainBinding") is not None:
            raise ConfigError(r.full("proxyDomainBinding"), binding,
                              "unset when proxyCertificateSource is keyvault (it applies to managed certificates)")
    elif kv_url or kv_identity:
        raise ConfigError(r.full("proxyKeyVaultCertificateUrl" if kv_url else "proxyKeyVaultIdentity"), kv_url or kv_identity,
                          "unset unless proxyCertificateSource is keyvault")
    return source, binding, kv_url, kv_identity


def _trusted_proxy_cidrs(r: Reader, network: NetworkSettings) -> tuple[str, ...]:
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


def _check_memory_bound(r: Reader, cpu: float, memory: str, max_body: int, concurrent: int) -> None:
    """The proxy's memory bound (components/proxy_settings.proxy_limits) must hold for these sizes."""
    sizes = ProxySettings(face_host="bound.check.invalid", upstream_address="10.0.0.4", cpu=cpu,
                          memory=memory, max_body_bytes=max_body, concurrent_requests=concurrent)
    try:
        proxy_limits(sizes)
    except ProxyConfigError as e:
        key = "proxyConcurrentRequests" if e.name == "concurrent_requests" else "proxyMaxBodyBytes"
        raise ConfigError(r.full(key), e.received, f"{e.expected.replace('memory ', r.full('proxyMemory') + ' ')} "
                          f"(proxyCpu {cpu:g}; the proxy stays within half the replica's memory)") from None


def check_renderable(settings: ProxySettings) -> None:
    """A config that validates must render: the nginx renderer's own checks, as config errors.

    Whatever the renderer refuses would otherwise surface as a traceback in `plan` and `pulumi up`.
    """
    try:
        validate(settings)
    except ProxyConfigError as exc:
        field = getattr(exc, "name", "")
        key = PROXY_FIELD_KEYS.get(field)
        received = getattr(settings, field, None) if field else None
        raise ConfigError(f"{NAMESPACE}:{key}" if key else f"{NAMESPACE} proxy setting {field}", received,
                          f"a value the proxy configuration accepts ({str(exc).rpartition('expected ')[2] or exc})") from None
