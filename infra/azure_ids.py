"""Pure: the parts of Azure resource ids the stack needs (subscription, resource group, name)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

_ZONE_ID = re.compile(r"^/subscriptions/([^/]+)/resource[gG]roups/([-\w.()]{1,90})/providers/"
                      r"Microsoft\.Network/privateDnsZones/([A-Za-z0-9.-]{1,253})/?$", re.IGNORECASE)


@dataclass(frozen=True)
class ZoneRef:
    subscription: str
    resource_group: str
    name: str


def parse_zone_id(zone_id: str) -> Optional[ZoneRef]:
    """Subscription, resource group and name of a `privateDnsZones` resource id; None if it is not one."""
    m = _ZONE_ID.match(zone_id.strip())
    if not m:
        return None
    return ZoneRef(subscription=m.group(1).lower(), resource_group=m.group(2), name=m.group(3).lower())
