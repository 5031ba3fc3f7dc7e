"""Pure: the parts of a private DNS zone's resource id (subscription, resource group, zone name).

Components own it (FaceAccount links hub zones by it); infra imports it to check stack config and plans.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional

_ZONE_ID = re.compile(r"^/subscriptions/([^/]+)/resource[gG]roups/([-\w.()]{1,90})/providers/"
                      r"Microsoft\.Network/privateDnsZones/([A-Za-z0-9.-]{1,253})/?$", re.IGNORECASE)


class ZoneRef(NamedTuple):
    subscription: str  # lower-cased
    resource_group: str
    name: str  # lower-cased


def parse_zone_id(zone_id: str) -> Optional[ZoneRef]:
    """Subscription, resource group and name of a `privateDnsZones` resource id; None if it is not one."""
    m = _ZONE_ID.match(zone_id.strip())
    if not m:
        return None
    return ZoneRef(subscription=m.group(1).lower(), resource_group=m.group(2), name=m.group(3).lower())
