"""Reading stack configuration files (stacks/Pulumi.<stack>.yaml) without the Pulumi CLI.

The values come back exactly as the Pulumi runtime hands them to the program (strings; lists and
mappings as JSON text): see infra/stackfiles/document.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from infra.errors import UserError, names_list
from infra.stackfiles.document import MAX_FILE_BYTES, parse_stack_document

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STACKS_DIR = PROJECT_ROOT / "stacks"


def stack_names(stacks_dir: Path | None = None) -> list[str]:
    """Stacks that have a config file, sorted."""
    stacks_dir = stacks_dir or STACKS_DIR
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def stack_file(stack: str, stacks_dir: Path | None = None) -> Path:
    stacks_dir = stacks_dir or STACKS_DIR
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = names_list(stack_names(stacks_dir))
        raise UserError(f"--stack: no stack file {path} for stack {stack!r}; stacks known: {known}")
    return path


def read_stack_config(stack: str, stacks_dir: Path | None = None) -> dict[str, str]:
    """All `config:` entries of a stack file, keys as written (e.g. ``liveness:proxyHost``), each
    value the string the Pulumi runtime would give the program.

    Secure values (``{secure: ...}``) are replaced by ``document.SECRET_PLACEHOLDER``: they cannot be
    decrypted offline, and offline evaluation never needs their real value.
    """
    return read_stack_config_and_secure_keys(stack, stacks_dir)[0]


def read_stack_config_and_secure_keys(stack: str, stacks_dir: Path | None = None) -> tuple[dict[str, str], set[str]]:
    """Like :func:`read_stack_config`, plus the keys whose values are `secure:` (encrypted)."""
    path = stack_file(stack, stacks_dir)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UserError(f"--stack: cannot read {path}: {exc.strerror or exc}") from None
    return parse_stack_document(data, str(path))


def namespaced(config: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The entries of one namespace, without the ``namespace:`` prefix."""
    prefix = namespace + ":"
    return {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
