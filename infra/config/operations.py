"""Operations settings of a stack: log retention, management locks, app-server access.

Defaults and bounds are declared in infra/config/schema.py (the retention range belongs to the
LivenessProxy component). Pure: no Pulumi, no Azure.
"""

from __future__ import annotations

from dataclasses import dataclass
from components.arg_choices import LOG_RETENTION_DAYS_RANGE
from infra.azure_ids import GUID
from infra.config.reader import Reader
from infra.errors import ConfigError

MAX_APP_SERVER_PRINCIPALS = 20


@dataclass(frozen=True)
class OperationsSettings:
    log_retention_days: int = LOG_RETENTION_DAYS_RANGE[0]
    management_locks: bool = False
    app_server_principal_ids: tuple[str, ...] = ()


def parse_operations(reader: Reader, lifecycle: str) -> OperationsSettings:
    prod = lifecycle == "prod"
    retention = reader.integer("logRetentionDays", prod=prod)
    locks = reader.boolean("managementLocks", prod=prod)
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
