"""Pure: the nginx configuration of the liveness reverse proxy, rendered from settings.

No Pulumi and no I/O here. `ProxySettings` is the contract between the stack configuration
(infra/config.py) and the renderer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The four Face liveness routes the proxy forwards (Microsoft: "Use liveness detection with network
# isolation"). `{version}` is the API version segment, e.g. v1.2 or v1.2-preview.1.
LIVENESS_ROUTES: tuple[str, ...] = (
    "/face/{version}/session/start",
    "/face/{version}/session/attempt/end",
    "/face/{version}/detectLiveness/singleModal",
    "/face/{version}/detectLivenessWithVerify/singleModal",
)

DEFAULT_LISTEN_PORT = 8080
DEFAULT_HEALTH_PORT = 8081
HEALTH_PATH = "/healthz"
# Azure-provided DNS, reachable from every VNet; it answers from private DNS zones linked to it.
AZURE_DNS_RESOLVER = "168.63.129.16"
# Where stock nginx images (Debian and Alpine based) keep the system CA bundle.
DEFAULT_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@dataclass(frozen=True)
class ProxySettings:
    """Everything the rendered configuration depends on."""

    face_host: str
    allow_options: bool = False
    rate_limit_per_second: int = 10
    rate_limit_burst: int = 20
    max_body_bytes: int = 8 * 1024 * 1024
    trusted_proxy_cidrs: tuple[str, ...] = field(default_factory=tuple)
    client_timeout_seconds: int = 60
    upstream_timeout_seconds: int = 120
    listen_port: int = DEFAULT_LISTEN_PORT
    health_port: int = DEFAULT_HEALTH_PORT
    dns_resolver: str = AZURE_DNS_RESOLVER
    dns_valid_seconds: int = 10
    ca_bundle: str = DEFAULT_CA_BUNDLE
