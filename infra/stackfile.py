"""Reading stack configuration files (stacks/Pulumi.<stack>.yaml) without the Pulumi CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = PROJECT_ROOT / "stacks"
CONFIG_NAMESPACE = "liveness"
# Value used by offline evaluation where a stack file holds an encrypted (secure) value.
SECRET_PLACEHOLDER = "offline-placeholder-secret"


def stack_names(stacks_dir: Path | None = None) -> list[str]:
    """Stacks that have a config file, sorted."""
    stacks_dir = stacks_dir or STACKS_DIR
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def stack_file(stack: str, stacks_dir: Path | None = None) -> Path:
    stacks_dir = stacks_dir or STACKS_DIR
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(stacks_dir)) or "none"
        raise UserError(f"--stack: no stack file {path} for stack {stack!r}; stacks known: {known}")
    return path


def read_stack_config(stack: str, stacks_dir: Path | None = None) -> dict[str, Any]:
    """All `config:` entries of a stack file, keys as written (e.g. ``liveness:proxyHost``).

    Secure values (``{secure: ...}``) are replaced by :data:`SECRET_PLACEHOLDER`: they cannot be
    decrypted offline, and offline evaluation never needs their real value.
    """
    return read_stack_config_and_secure_keys(stack, stacks_dir)[0]


def read_stack_config_and_secure_keys(stack: str, stacks_dir: Path | None = None) -> tuple[dict[str, Any], set[str]]:
    """Like :func:`read_stack_config`, plus the keys whose values are `secure:` (encrypted)."""
    path = stack_file(stack, stacks_dir)
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise UserError(f"{path}: expected a mapping with a 'config:' section")
    config = document.get("config") or {}
    if not isinstance(config, dict):
        raise UserError(f"{path}: 'config:' must be a mapping, received {type(config).__name__}")
    out: dict[str, Any] = {}
    secure: set[str] = set()
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            value = SECRET_PLACEHOLDER
            secure.add(str(key))
        out[str(key)] = value
    return out, secure


def namespaced(config: dict[str, Any], namespace: str = CONFIG_NAMESPACE) -> dict[str, Any]:
    """The entries of one namespace, without the ``namespace:`` prefix."""
    prefix = namespace + ":"
    return {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
