"""Stack files read the way the Pulumi CLI reads them, turned into what the program receives.

The Pulumi CLI reads `Pulumi.<stack>.yaml` with Go's YAML 1.2 reader (gopkg.in/yaml.v3), decodes
each config value into a generic value and hands the program *strings*: the language host puts
every entry into `PULUMI_CONFIG` as `"ns:key": "<text>"` (pulumi/pulumi
sdk/go/common/resource/config/object.go, `MarshalString`):

- a string stays itself: `yes`, `on`, `1:20`, `2026-11-20` are strings in YAML 1.2 (Go's reader
  also keeps timestamp-looking scalars as their text when decoding into a generic value);
- a boolean, integer or float becomes its JSON text (`true`, `2`, `0.5`);
- `~`, `null` or an empty value becomes the JSON text `null`;
- a list or mapping becomes JSON text (`["10.0.0.0/8"]`, `{"team":"x"}`);
- `{secure: <ciphertext>}` is a secret (decrypted by the CLI; offline it is a placeholder).

This module does the same offline, with ruamel.yaml (YAML 1.2, safe, pure Python) composing the
document into nodes, so `config check`, `plan` and the program under `pulumi up` all validate the
same strings. Where two YAML readers could disagree (duplicate keys, merge keys, custom tags,
numbers written as `0x10`, `017`, `1_000` or `.inf`), the file is refused with one line saying
what to write instead. Pure: bytes in, strings out; no file I/O.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Optional

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from infra.errors import UserError, one_line, shorten

MAX_FILE_BYTES = 1024 * 1024  # stack files are a few KB; refuse anything absurd before parsing
MAX_DEPTH = 16  # stack → config → key → list/map → …: nothing legitimate nests deeper
MAX_NODES = 20_000  # bounds alias expansion ("billion laughs") and huge documents
# Offline stand-in for an encrypted (`secure:`) value: it cannot be decrypted without the CLI.
SECRET_PLACEHOLDER = "offline-placeholder-secret"

_TAG = "tag:yaml.org,2002:"
_DECIMAL_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_DECIMAL_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT64 = (-(2**63), 2**64 - 1)  # Go decodes into int64, or uint64 above int64's range


class StackFileError(UserError):
    """The stack file cannot be read as Pulumi would read it."""


def go_json_float(value: float) -> str:
    """A float as Go's encoding/json writes it (shortest digits; exponent only ≥ 1e21 or < 1e-6)."""
    if value == 0:
        return "0" if str(value)[0] != "-" else "-0"
    magnitude = abs(value)
    if 1e-6 <= magnitude < 1e21:
        text = format(Decimal(repr(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mantissa, _, exponent = repr(value).partition("e")
    if not exponent:  # repr chose positional notation although Go would not
        mantissa, _, exponent = f"{value:.17g}".partition("e")
    sign = "-" if exponent.startswith("-") else "+"
    digits = exponent.lstrip("+-").lstrip("0") or "0"
    if len(digits) < 2:
        digits = "0" + digits
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    return f"{mantissa}e{sign}{digits}"


class _Converter:
    def __init__(self, where: str):
        self.where = where
        self.nodes = 0

    def fail(self, node: Optional[Node], what: str) -> StackFileError:
        line = f" line {node.start_mark.line + 1}" if node is not None and node.start_mark is not None else ""
        return StackFileError(one_line(f"{self.where}{line}: {what}"))

    def count(self, node: Node, depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, f"more than {MAX_NODES} values (aliases included); a stack file holds a few dozen")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested more than {MAX_DEPTH} levels deep; config values are strings, lists or flat mappings")

    def key(self, node: Node, depth: int) -> str:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, "a mapping key must be a plain string, not a list or mapping")
        tag = str(node.tag)
        if tag == _TAG + "merge":
            raise self.fail(node, "merge keys (<<) are not supported: write the keys out")
        if tag == _TAG + "null":
            raise self.fail(node, "a mapping key is empty or null")
        text = self.scalar(node)
        if not isinstance(text, str):
            text = _text_of(text)
        return text

    def mapping(self, node: MappingNode, depth: int) -> dict[str, Node]:
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            self.count(key_node, depth + 1)
            name = self.key(key_node, depth + 1)
            if name in out:
                raise self.fail(key_node, f"duplicate key {shorten(name)}: the YAML readers disagree on which one "
                                          "wins; keep one")
            out[name] = value_node
        return out

    def scalar(self, node: ScalarNode) -> Any:
        """The generic value Go's reader decodes: None, bool, int, float or str."""
        tag = str(node.tag)
        text = node.value
        _check_text(self, node, text)
        if tag in (_TAG + "str", _TAG + "timestamp", _TAG + "binary"):
            return text if tag != _TAG + "binary" else self._refuse_tag(node)
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            if text.lower() not in ("true", "false"):
                raise self.fail(node, f"{shorten(text)} is a boolean only in some YAML readers: write true or false, or quote it")
            return text.lower() == "true"
        if tag == _TAG + "int":
            if not _DECIMAL_INT.match(text):
                raise self.fail(node, f"the number {shorten(text)} is read differently by YAML readers: write it in "
                                      "plain decimal, or quote it")
            if len(text) > 400:
                raise self.fail(node, f"the number {shorten(text)} is too long; config numbers are small")
            number = int(text)
            if _INT64[0] <= number <= _INT64[1]:
                return number
            return self._big_float(node, text)
        if tag == _TAG + "float":
            if not _DECIMAL_FLOAT.match(text):
                raise self.fail(node, f"the number {shorten(text)} has no JSON form: quote it if you mean text")
            return self._big_float(node, text)
        return self._refuse_tag(node)

    def _big_float(self, node: ScalarNode, text: str) -> Any:
        if len(text) > 400:
            raise self.fail(node, f"the number {shorten(text)} is too long; config numbers are small")
        value = float(text)
        if value in (float("inf"), float("-inf")):
            raise self.fail(node, f"the number {shorten(text)} is out of range; quote it if you mean text")
        return value

    def _refuse_tag(self, node: Node) -> Any:
        raise self.fail(node, f"the tag {shorten(str(node.tag))} is not supported: use plain strings, numbers, "
                              "true/false, lists and mappings")

    def generic(self, node: Node, depth: int) -> Any:
        """The whole value under `node`, as Go's reader would decode it into a generic value."""
        self.count(node, depth)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if str(node.tag) != _TAG + "seq":
                return self._refuse_tag(node)
            return [self.generic(item, depth + 1) for item in node.value]
        if isinstance(node, MappingNode):
            if str(node.tag) != _TAG + "map":
                return self._refuse_tag(node)
            return {name: self.generic(value, depth + 1) for name, value in self.mapping(node, depth).items()}
        raise self.fail(node, "unsupported YAML node")  # pragma: no cover - the composer makes only these


def _check_text(conv: _Converter, node: Node, text: str) -> None:
    bad = next((c for c in text if 0xD800 <= ord(c) <= 0xDFFF or c == "\x00"), None)
    if bad is not None:
        raise conv.fail(node, f"the value {shorten(text)} holds {shorten(bad)}, which is not a character UTF-8 can carry")


def _text_of(value: Any) -> str:
    """The string the program receives for a generic value (object.go `MarshalString`)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_json_float(value)
    return _go_json(value)


def _go_json(value: Any) -> str:
    """JSON text of a list or mapping (numbers and key order as Go writes them)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_go_json(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_go_json(v) for v in value) + "]"
    if isinstance(value, float):
        return go_json_float(value)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)


def parse_stack_document(data: bytes, where: str = "stack file") -> tuple[dict[str, str], set[str]]:
    """`config:` of a stack file as the program receives it: `ns:key` → string, plus the secret keys.

    Raises StackFileError (one line, naming the file and line) for anything Pulumi would refuse or
    read differently.
    """
    conv = _Converter(where)
    if len(data) > MAX_FILE_BYTES:
        raise conv.fail(None, f"{len(data)} bytes; a stack file is expected to be under {MAX_FILE_BYTES} bytes")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # the Pulumi CLI strips a UTF-8 byte-order mark too
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise conv.fail(None, f"not UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); save the file as UTF-8") from None
    try:
        root = _compose(text, where)
    except RecursionError:
        raise conv.fail(None, f"nested more than {MAX_DEPTH} levels deep") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise StackFileError(one_line(f"{where}{line}: not valid YAML: {exc.problem or exc.context or 'syntax error'}")) from None
    except YAMLError as exc:
        raise StackFileError(one_line(f"{where}: not valid YAML: {exc}")) from None
    if root is None or (isinstance(root, ScalarNode) and str(root.tag) == _TAG + "null"):
        return {}, set()
    if not isinstance(root, MappingNode):
        raise conv.fail(root, "expected a mapping with a 'config:' section")
    conv.count(root, 0)
    top = conv.mapping(root, 0)
    config_node = top.get("config")
    if config_node is None:
        if top:
            # e.g. `configuration:` or settings at the top level: say so, rather than let every
            # required key be reported missing one by one.
            found = ", ".join(sorted(str(key) for key in top))
            raise conv.fail(root, f"no 'config:' block (top-level keys found: {shorten(found)}); "
                                  "the stack's settings go under config:")
        return {}, set()
    conv.count(config_node, 1)
    if isinstance(config_node, ScalarNode) and str(config_node.tag) == _TAG + "null":
        others = sorted(str(key) for key in top if key != "config")
        if others:
            # `config:` with its keys at column 0: YAML reads an empty block and top-level keys.
            raise conv.fail(config_node, f"'config:' is empty but the file has top-level keys ({shorten(', '.join(others))}); "
                                         "indent the stack's settings under config:")
        return {}, set()
    if not isinstance(config_node, MappingNode):
        raise conv.fail(config_node, "'config:' must be a mapping of keys to values")
    out: dict[str, str] = {}
    secure: set[str] = set()
    for name, node in conv.mapping(config_node, 1).items():
        value = conv.generic(node, 2)
        if isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str):
            out[name] = SECRET_PLACEHOLDER
            secure.add(name)
            continue
        out[name] = _text_of(_replace_nested_secrets(value))
    return out, secure


def _replace_nested_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            return SECRET_PLACEHOLDER
        return {k: _replace_nested_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_nested_secrets(v) for v in value]
    return value


def _compose(text: str, where: str) -> Optional[Node]:
    if re.search(r"^%YAML(?![ \t]+1\.2[ \t]*$)", text, flags=re.MULTILINE):
        raise StackFileError(f"{where}: only YAML 1.2 is read here (remove the %YAML directive)")
    yaml = YAML(typ="safe", pure=True)
    nodes = list(yaml.compose_all(text))
    if len(nodes) > 1:
        raise StackFileError(f"{where}: holds more than one YAML document (---); Pulumi reads one")
    return nodes[0] if nodes else None
