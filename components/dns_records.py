"""Pure: the public DNS records the proxy host needs, computed from settings.

No Pulumi here: components/dns.py declares these, and `external` mode prints them for the
operator's own DNS provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

VERIFICATION_LABEL = "azaiverify"  # Microsoft's domain-ownership check for the proxy host
ASUID_LABEL = "asuid"  # Container Apps custom-domain ownership check
TXT_CHUNK = 255  # one TXT character-string holds at most 255 bytes


@dataclass(frozen=True)
class Record:
    key: str  # stable identifier: "cname", "asuid", "verification"
    fqdn: str
    type: str
    ttl: int
    value: Optional[str]  # None: known only after deploy (or secret)
    secret: bool = False
    purpose: str = ""


def split_txt(value: str) -> list[str]:
    """A TXT value as the character-strings that carry it (each at most 255 bytes)."""
    data = value.encode()
    if not data:
        return [""]
    return [data[i:i + TXT_CHUNK].decode() for i in range(0, len(data), TXT_CHUNK)]


def proxy_records(proxy_host: str, record_ttl: int, verification_ttl: int, *,
                  ingress_fqdn: Optional[str] = None, verification_id: Optional[str] = None,
                  with_verification_code: bool = False) -> list[Record]:
    """The records for `proxy_host`, in the order they must exist."""
    records = [
        Record("cname", proxy_host, "CNAME", record_ttl, ingress_fqdn,
               purpose="routes the proxy host to the Container Apps ingress"),
        Record("asuid", f"{ASUID_LABEL}.{proxy_host}", "TXT", record_ttl, verification_id,
               purpose="proves the domain to Container Apps (custom domain + managed certificate)"),
    ]
    if with_verification_code:
        records.append(Record("verification", f"{VERIFICATION_LABEL}.{proxy_host}", "TXT", verification_ttl, None,
                              secret=True, purpose="Microsoft's proxy domain verification (48-hour window)"))
    return records


def relative_name(fqdn: str, zone: str) -> str:
    """Name of `fqdn` inside `zone` ("@" for the apex)."""
    fqdn, zone = fqdn.rstrip(".").lower(), zone.rstrip(".").lower()
    if fqdn == zone:
        return "@"
    if not fqdn.endswith("." + zone):
        raise ValueError(f"{fqdn} is not inside zone {zone}")
    return fqdn[: -(len(zone) + 1)]
