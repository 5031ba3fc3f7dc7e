"""Validation helpers shared by the per-group parsers: networks, client ranges, hostnames, names.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import re
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from infra.config_schema import KEYS_BY_NAME, NAMESPACE
from infra.errors import ConfigError
from infra.config_reader import _Reader

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")  # one DNS label: 1-63
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,15}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,40}$")
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)Gi$")
_KV_SECRET_URL = re.compile(r"^https://[a-z0-9-]{3,24}\.vault\.azure\.(net|cn|us)/secrets/[A-Za-z0-9-]+(/[0-9a-f]{32})?/?$")
_RESOURCE_ID = re.compile(r"^/subscriptions/[^/]+/resource[gG]roups/[^/]+/providers/.+", re.IGNORECASE)


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
        utc: datetime | None = moment.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 falls before year 1 in UTC
        utc = None
    if utc is None or not ISSUED_AT_YEARS[0] <= utc.year <= ISSUED_AT_YEARS[1]:
        raise ConfigError(reader.full("verificationCodeIssuedAt"), text,
                          f"a time between the years {ISSUED_AT_YEARS[0]} and {ISSUED_AT_YEARS[1]}, e.g. 2026-11-20T09:30:00Z")
    return utc


def _check_unknown_keys(raw: Mapping[str, Any]) -> None:
    for name in raw:
        if name not in KEYS_BY_NAME:
            close = difflib.get_close_matches(name, list(KEYS_BY_NAME), n=1)
            hint = f" (did you mean {NAMESPACE}:{close[0]}?)" if close else ""
            raise ConfigError(f"{NAMESPACE}:{name}", raw[name], f"no such key: use a key from the config reference{hint}")

