"""Pure: the choices, defaults and bounds of the components' Args that a stack's config is checked against.

The components own these values; they live here, apart from the modules that declare resources, so
that reading and checking a stack file (`liveness-infra config check`, the config schema) does not
import the provider's SDK. No Pulumi import here.
"""

from __future__ import annotations

# FaceAccount
ACCOUNT_KINDS = ("Face", "AIServices")
COGNITIVE_ZONE = "privatelink.cognitiveservices.azure.com"
AI_SERVICES_EXTRA_ZONES = ("privatelink.openai.azure.com", "privatelink.services.ai.azure.com")
PRIVATE_DNS_MODES = ("create", "existing", "policy")

# ProxyDns
DNS_MODES = ("create", "existing", "external")
RECORD_TTL_RANGE = (1, 2147483647)  # Azure DNS record set TTL

# LivenessProxy
LOG_RETENTION_DAYS_RANGE = (30, 730)  # PerGB2018 workspaces: 30-730 days of interactive retention

# LivenessProxyApp
DOMAIN_BINDINGS = ("auto", "bootstrap", "bound")
CERTIFICATE_SOURCES = ("managed", "keyvault")
DEFAULT_IMAGE = "docker.io/library/nginx:1.28.0-alpine"
REPLICAS_RANGE = (0, 1000)


def default_zone_names(kind: str) -> list[str]:
    """The private zones an account of `kind` needs."""
    return [COGNITIVE_ZONE, *AI_SERVICES_EXTRA_ZONES] if kind == "AIServices" else [COGNITIVE_ZONE]
