"""The Public DNS group: where the proxy host's records live and their TTLs (modes from components/dns.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from infra.config.reader import Reader, hostname
from infra.errors import ConfigError


@dataclass(frozen=True)
class DnsSettings:
    mode: str
    zone_name: Optional[str]
    zone_resource_group: Optional[str]
    record_ttl: int
    verification_ttl: int


def parse_dns(r: Reader, proxy_host: str) -> DnsSettings:
    mode = r.choice("dnsMode")
    zone = r.string("dnsZoneName")
    if mode in ("create", "existing"):
        if zone is None:
            raise ConfigError(r.full("dnsZoneName"), None, f"the public zone holding {proxy_host} (dnsMode {mode})")
        zone = hostname(r, "dnsZoneName", zone)
        if not proxy_host.endswith("." + zone):
            # The host is what the user is placing; the zone is the fixed frame it must sit in.
            raise ConfigError(r.full("proxyHost"), proxy_host,
                              f"a name strictly below {r.full('dnsZoneName')} {zone} "
                              "(a CNAME cannot sit at the zone apex), or change dnsZoneName")
    elif zone is not None:
        zone = hostname(r, "dnsZoneName", zone)
    zone_rg = r.string("dnsZoneResourceGroup")
    if zone_rg is not None and mode != "existing":
        raise ConfigError(r.full("dnsZoneResourceGroup"), zone_rg, "unset unless dnsMode is existing")
    return DnsSettings(
        mode=mode,
        zone_name=zone,
        zone_resource_group=zone_rg,
        record_ttl=r.integer("dnsRecordTtl"),
        verification_ttl=r.integer("verificationTxtTtl"),
    )
