"""The validated settings of a stack: frozen dataclasses and the allowed values of their enums.

No parsing here: infra/config.py builds these from raw config (infra/config_parsers.py per group).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from components.proxy_settings import ProxySettings
from infra import endpoint_ips
from infra.config_operations import OperationsSettings
from infra.monitoring_config import MonitoringSettings

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
            memory=p.memory,
        )

