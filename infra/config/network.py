"""The Network group: the VNet, its two subnets and who else may reach the private endpoint."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from components.proxy_settings import CONTAINER_APPS_PLATFORM_CIDRS
from infra.config.reader import Reader
from infra.errors import ConfigError

MIN_APPS_SUBNET_PREFIXLEN = 27  # workload-profiles environments need at least a /27
MIN_ENDPOINTS_SUBNET_PREFIXLEN = 28

# Address ranges a VNet here may use: the RFC 1918 private blocks and the RFC 6598 shared address
# space, which Azure treats as private too (a default system route with next hop None covers all
# four until a VNet uses them: learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview).
VNET_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"))
VNET_RANGES_TEXT = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918) or 100.64.0.0/10 (RFC 6598)"

# Ranges the Container Apps environment's subnet must not overlap (reserved by the platform:
# learn.microsoft.com/azure/container-apps/custom-virtual-networks, "Subnet address range restrictions"),
# the last four being those its ingress may connect from (the proxy component's to trust).
APPS_RESERVED = tuple(ipaddress.IPv4Network(n) for n in (
    "169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24", *CONTAINER_APPS_PLATFORM_CIDRS))

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


@dataclass(frozen=True)
class NetworkSettings:
    vnet_address_space: str
    apps_subnet_prefix: str
    endpoints_subnet_prefix: str
    endpoint_client_cidrs: tuple[str, ...] = ()  # besides the apps subnet


def parse_network(r: Reader) -> NetworkSettings:
    vnet = _network(r, "vnetAddressSpace")
    apps = _network(r, "appsSubnetPrefix")
    endpoints = _network(r, "endpointsSubnetPrefix")
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
    return NetworkSettings(str(vnet), str(apps), str(endpoints), _client_cidrs(r))


def _network(reader: Reader, name: str) -> ipaddress.IPv4Network:
    text = reader.text(name)
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        raise ConfigError(reader.full(name), text, "an IPv4 CIDR with no host bits set, e.g. 10.40.0.0/16") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise ConfigError(reader.full(name), text, "an IPv4 CIDR (Azure subnets here are IPv4)")
    if not any(net.subnet_of(allowed) for allowed in VNET_RANGES):
        raise ConfigError(reader.full(name), text, f"a private range inside {VNET_RANGES_TEXT}")
    return net


def _client_cidrs(r: Reader) -> tuple[str, ...]:
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
