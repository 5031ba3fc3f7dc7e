"""Which config namespaces a stack may use, so that no key a user sets is silently ignored.

This project reads its own keys from the `liveness:` namespace (infra/config/schema.py). Pulumi puts
a key set without a namespace (`pulumi config set proxyMinReplicas 5`) in the project's namespace,
the `name:` of Pulumi.yaml (https://www.pulumi.com/docs/iac/concepts/config/, "Configuration
keys"), so that key, a key with no namespace at all in a stack file, and a misspelt namespace such
as `livenes:` would never reach the program. Each is refused with the `liveness:` key meant.
Other namespaces (providers: `azure-native:`, `pulumi:`, ...) are not this project's to judge.
"""

from __future__ import annotations

import difflib
from typing import Any, Mapping

from infra.config.schema import KEYS_BY_NAME, NAMESPACE, PROJECT_NAME
from infra.errors import ConfigError

# A namespace this many single-character edits (or fewer) from `liveness` is taken as a misspelling.
NEAR_MISS_EDITS = 2


class _NotShown:
    """Stands for a value in an error: the value may be a decrypted secret, so it is never echoed."""

    def __repr__(self) -> str:
        return "(not shown)"


def _edits(a: str, b: str) -> int:
    """Levenshtein distance between `a` and `b` (short strings only)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _meant(name: str) -> str:
    """The `liveness:` key a user most likely meant by `name`."""
    if name in KEYS_BY_NAME:
        return f"{NAMESPACE}:{name}"
    close = difflib.get_close_matches(name, list(KEYS_BY_NAME), n=1)
    return f"{NAMESPACE}:{close[0] if close else name}"


def misplaced_namespace(key: str) -> bool:
    """True when `key` is meant for this project but is not in the `liveness:` namespace."""
    if ":" not in key:
        return True
    namespace = key.split(":", 1)[0]
    if namespace == NAMESPACE:
        return False
    return namespace == PROJECT_NAME or _edits(namespace.lower(), NAMESPACE) <= NEAR_MISS_EDITS


def check_namespaces(config: Mapping[str, Any]) -> None:
    """Refuse a key this project would otherwise ignore (see the module docstring)."""
    for key in config:
        key = str(key)
        if not misplaced_namespace(key):
            continue
        name = key.split(":", 1)[1] if ":" in key else key
        meant = _meant(name)
        raise ConfigError(key, _NotShown(),
                          f"{meant} (this project reads only {NAMESPACE}: keys); "
                          f"run `pulumi config set {meant} <value>` and `pulumi config rm {key}`")
