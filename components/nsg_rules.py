"""The network security rules of the two subnets, as plain data (pure: no Pulumi).

Apps subnet (external workload-profiles environment), after Microsoft's "Securing a virtual
network in Azure Container Apps with Network Security Groups" (learn.microsoft.com/azure/
container-apps/firewall-integration, workload profiles tab):
  - TCP 80 and 31080 from the clients (HTTP; 31080 is the environment's edge proxy behind the load
    balancer) — the ingress only redirects HTTP to HTTPS (allowInsecure false);
  - TCP 443 and 31443 from the clients (HTTPS; 31443 is the edge proxy's port);
  - TCP 30000-32767 from AzureLoadBalancer (health probes).
  The proxy is public, so "the clients" are `Internet`. The page warns that deny rules below the
  platform's 65000 defaults can break the environment and that for an *external* environment
  inbound traffic arrives on the public IP of the managed resource group, so these rules document
  and keep open what the platform needs; they are not where the proxy is locked down (its route
  allowlist is). Outbound stays on Azure's defaults (the environment needs Azure Monitor, MCR,
  Docker Hub for the stock image, Azure DNS and the private endpoint).

Endpoints subnet: TCP 443 from the apps subnet and `faceAllowedClientCidrs` in one rule (a prefix
list, so any number of ranges fits in one priority), then deny everything else inbound, which
overrides Azure's default AllowVnetInBound/AllowAzureLoadBalancerInBound. Priorities sit inside
Azure's 100-4096 for every configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_PRIORITY = 100
MAX_PRIORITY = 4096
LB_PROBE_PORTS = "30000-32767"
EDGE_HTTP_PORT = "31080"
EDGE_HTTPS_PORT = "31443"


@dataclass(frozen=True)
class Rule:
    name: str
    priority: int
    direction: str  # Inbound | Outbound
    access: str  # Allow | Deny
    protocol: str  # Tcp | Udp | *
    sources: tuple[str, ...]
    destination: str
    ports: tuple[str, ...]
    description: str


def apps_rules(apps_prefix: str) -> list[Rule]:
    return [
        Rule("allow-http-in", 100, "Inbound", "Allow", "Tcp", ("Internet",), apps_prefix, ("80", EDGE_HTTP_PORT),
             "Clients over HTTP (answered with a redirect to HTTPS); 31080: environment edge proxy"),
        Rule("allow-https-in", 110, "Inbound", "Allow", "Tcp", ("Internet",), apps_prefix, ("443", EDGE_HTTPS_PORT),
             "Clients over HTTPS; 31443: environment edge proxy"),
        Rule("allow-lb-probes-in", 120, "Inbound", "Allow", "Tcp", ("AzureLoadBalancer",), apps_prefix, (LB_PROBE_PORTS,),
             "Azure Load Balancer health probes"),
    ]


def endpoint_rules(endpoints_prefix: str, apps_prefix: str, client_cidrs: tuple[str, ...]) -> list[Rule]:
    sources = tuple(dict.fromkeys((apps_prefix, *client_cidrs)))  # ordered, without repeats
    return [
        Rule("allow-https-from-clients", MIN_PRIORITY, "Inbound", "Allow", "Tcp", sources, endpoints_prefix, ("443",),
             "HTTPS to the Face private endpoint: the proxy's subnet and faceAllowedClientCidrs only"),
        Rule("deny-all-in", MAX_PRIORITY, "Inbound", "Deny", "*", ("*",), "*", ("*",),
             "Nothing else reaches the private endpoints (overrides AllowVnetInBound)"),
    ]
