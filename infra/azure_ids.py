"""Pure: the shape of the Azure ids the stack config and commands accept (private DNS zone ids are
parsed by components.zone_ids, which the components own)."""

from __future__ import annotations

import re

# A subscription id, tenant id or object (principal) id: a GUID in its 8-4-4-4-12 hex form.
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
