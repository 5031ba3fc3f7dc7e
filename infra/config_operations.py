"""Operations settings of a stack: log retention, management locks, app-server access.

Parsed from the `liveness:` config by `parse_operations`, which infra/config.py calls with its
reader; kept apart so the rules for these keys sit in one place. Pure: no Pulumi, no Azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.azure_ids import GUID
from infra.errors import ConfigError

MIN_RETENTION_DAYS = 30  # PerGB2018 workspaces: 30-730 days of interactive retention
MAX_RETENTION_DAYS = 730
MAX_APP_SERVER_PRINCIPALS = 20


@dataclass(frozen=True)
class OperationsSettings:
    log_retention_days: int = MIN_RETENTION_DAYS
    management_locks: bool = False
    app_server_principal_ids: tuple[str, ...] = ()


def parse_operations(reader: Any, lifecycle: str) -> OperationsSettings:
    """`reader` is infra.config's typed reader (string/boolean/integer/string_list)."""
    prod = lifecycle == "prod"
    retention = reader.integer("logRetentionDays", 90 if prod else MIN_RETENTION_DAYS,
                               MIN_RETENTION_DAYS, MAX_RETENTION_DAYS)
    locks = reader.boolean("managementLocks", prod)
    if locks and not prod:
        raise ConfigError(reader.full("managementLocks"), True,
                          f"false or unset for a {lifecycle} stack (teardown must be able to delete everything)")
    principals = reader.string_list("faceAppServerPrincipalIds")
    if len(principals) > MAX_APP_SERVER_PRINCIPALS:
        raise ConfigError(reader.full("faceAppServerPrincipalIds"), f"{len(principals)} ids",
                          f"at most {MAX_APP_SERVER_PRINCIPALS} object ids")
    for principal in principals:
        if not GUID.match(principal):
            raise ConfigError(reader.full("faceAppServerPrincipalIds"), principal,
                              "object ids (GUIDs) of service principals, e.g. 00000000-0000-0000-0000-000000000000")
    seen = [p.lower() for p in principals]
    if len(set(seen)) != len(seen):
        raise ConfigError(reader.full("faceAppServerPrincipalIds"), list(principals), "each object id once")
    return OperationsSettings(
        log_retention_days=retention,
        management_locks=locks,
        app_server_principal_ids=tuple(seen),
    )
