"""Typed reading of raw config values: strings from the Pulumi runtime or native YAML values.

Defaults, bounds and choices come from the schema (infra/config/schema.py), so a parser names only
the key. Every error is a ConfigError naming the key, the (shortened) received value and what is
expected.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any, Mapping, Optional, overload

from infra.config.schema import KEYS_BY_NAME, NAMESPACE, Default
from infra.errors import ConfigError
from infra.stackfiles.document import go_json_float


class Reader:
    """Reads `liveness:` keys from a mapping of runtime strings (see :func:`runtime_strings`).

    Every value is the string the Pulumi runtime delivers; lists and mappings are JSON text. An
    empty value, or the text `null` (what `~`, `null` or an empty value in a stack file becomes),
    means unset, everywhere.
    """

    def __init__(self, raw: Mapping[str, str]):
        self.raw = raw

    def value(self, name: str) -> Optional[str]:
        """The raw text of `name`, None when unset (empty or `null`)."""
        assert name in KEYS_BY_NAME, f"undeclared config key {name}"
        value = self.raw.get(name)
        if value is None:
            return None
        value = value.strip()
        if value == "" or value == "null":
            return None
        return value

    def full(self, name: str) -> str:
        return f"{NAMESPACE}:{name}"

    @overload
    def string(self, name: str, default: str) -> str: ...
    @overload
    def string(self, name: str, default: None = None) -> Optional[str]: ...

    def string(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value = self.value(name)
        if value is None:
            return default
        if value[0] in "[{":
            try:
                parsed = json.loads(value)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, (list, dict)):
                raise ConfigError(self.full(name), value, f"a string, not a {'list' if isinstance(parsed, list) else 'mapping'}")
        if len(value) > MAX_STRING:
            raise ConfigError(self.full(name), value, f"a string of at most {MAX_STRING} characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ConfigError(self.full(name), value, "a single line without control characters")
        return value

    def text(self, name: str) -> str:
        """A string key with the literal default the schema declares."""
        default = _spec(name).value
        assert isinstance(default, str), f"{name} has no string default in the schema"
        return self.string(name, default)

    def require(self, name: str, hint: str) -> str:
        value = self.string(name)
        if value is None:
            raise ConfigError(self.full(name), None, f"a value ({hint})")
        return value

    def choice(self, name: str) -> str:
        spec = _spec(name)
        choices = spec.choices
        value = self.string(name, spec.value)
        if value not in choices:
            close = difflib.get_close_matches(value, choices, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(self.full(name), value, f"one of {', '.join(choices)}{hint}")
        return value

    def boolean(self, name: str, *, prod: bool = False) -> bool:
        value = self.value(name)
        if value is None:
            return bool(_spec(name).for_lifecycle(prod))
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ConfigError(self.full(name), value, "true or false")

    def integer(self, name: str, *, prod: bool = False) -> int:
        spec = _spec(name)
        assert spec.bounds is not None, f"{name} has no bounds in the schema"
        lo, hi = spec.bounds
        value = self.value(name)
        if value is None:
            return int(spec.for_lifecycle(prod))
        if not _INTEGER.match(value):
            raise ConfigError(self.full(name), value, f"a whole number from {lo} to {hi}")
        number = int(value)
        if not lo <= number <= hi:
            raise ConfigError(self.full(name), value, f"a whole number from {lo} to {hi}")
        return number

    def number(self, name: str) -> float:
        spec = _spec(name)
        assert spec.bounds is not None, f"{name} has no bounds in the schema"
        lo, hi = spec.bounds
        value = self.value(name)
        if value is None:
            return float(spec.value)
        number = float(value) if _NUMBER.match(value) else float("nan")
        if not lo <= number <= hi:  # also false for nan and infinities
            raise ConfigError(self.full(name), value, f"a number from {lo:g} to {hi:g}")
        return number

    def structured(self, name: str, kind: type) -> Any:
        """A list or mapping key as parsed JSON (None when unset)."""
        value = self.value(name)
        if value is None:
            return None
        what = "list" if kind is list else "mapping"
        if len(value) > MAX_STRUCTURED:
            raise ConfigError(self.full(name), value, f"a {what} of at most {MAX_STRUCTURED} characters as JSON")
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            raise ConfigError(self.full(name), value, f"a {what}: a YAML {what} in the stack file, or JSON {what} text") from None
        if parsed is not None and not isinstance(parsed, kind):
            raise ConfigError(self.full(name), value, f"a {what}")
        return parsed

    def string_list(self, name: str) -> tuple[str, ...]:
        value = self.structured(name, list) or []
        for item in value:
            if not isinstance(item, str) or not item.strip() or not _printable(item):
                raise ConfigError(self.full(name), value, "a list of non-empty one-line strings")
        return tuple(item.strip() for item in value)

    def string_map(self, name: str) -> dict[str, str]:
        value = self.structured(name, dict) or {}
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, (int, float)):
                v = json.dumps(v)
            if not isinstance(v, str) or not _printable(k) or not _printable(v):
                raise ConfigError(self.full(name), value, "a mapping of string keys to string values")
            out[k] = v
        return out


def _spec(name: str) -> Default:
    return KEYS_BY_NAME[name].spec


def _printable(text: str) -> bool:
    """One line of text UTF-8 can carry: no control characters, no lone surrogates."""
    return not any(ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF for c in text)


# Upper bounds on raw values: far above anything real, low enough that nothing downstream chokes.
MAX_STRING = 2048
MAX_STRUCTURED = 64 * 1024
_INTEGER = re.compile(r"^[-+]?[0-9]{1,15}$")
_NUMBER = re.compile(r"^[-+]?(\.[0-9]+|[0-9]{1,15}(\.[0-9]*)?)([eE][-+]?[0-9]{1,3})?$")


def runtime_strings(raw: Mapping[Any, Any], where: str = NAMESPACE) -> dict[str, str]:
    """`raw` as the Pulumi runtime delivers config: every value a string.

    Strings pass through; other values (from callers holding native values, e.g. tests) become
    the text the runtime would carry: `true`/`false`, decimal numbers, `null`, JSON for lists and
    mappings. A value no runtime could carry (a lone surrogate, a NUL, an int too large to print)
    is a ConfigError naming its key.
    """
    out: dict[str, str] = {}
    for key, value in raw.items():
        name = key if isinstance(key, str) else str(key)
        full = name if ":" in name or where == "" else f"{where}:{name}"
        try:
            if isinstance(value, str):
                text = value
            elif value is None:
                text = "null"
            elif isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, int):
                text = str(value)
            elif isinstance(value, float):
                if value != value or value in (float("inf"), float("-inf")):
                    raise ValueError("not a finite number")
                text = go_json_float(value)
            elif isinstance(value, (list, tuple, dict)):
                text = json.dumps(value, allow_nan=False, sort_keys=False, separators=(",", ":"))
            else:
                raise ValueError(f"a {type(value).__name__}")
        except (ValueError, TypeError, RecursionError):
            raise ConfigError(full, value, "a string, number, true/false, list or mapping") from None
        if any(0xD800 <= ord(c) <= 0xDFFF or c == "\x00" for c in text):
            raise ConfigError(full, text, "text that UTF-8 can carry (no lone surrogates or NUL)")
        out[name] = text
    return out



# One DNS label (1-63 lower-case letters, digits, inner hyphens) and a hostname's label.
DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def hostname(reader: Reader, name: str, value: str, min_labels: int = 2) -> str:
    """`value` (read from key `name`) as a lower-case DNS hostname of at least `min_labels` labels."""
    host = value.rstrip(".").lower()
    labels = host.split(".")
    if (
        len(host) > 253
        or len(labels) < min_labels
        or not all(_HOST_LABEL.match(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ConfigError(
            reader.full(name), value,
            f"a DNS hostname of at least {min_labels} labels (letters, digits, hyphens), e.g. liveness.contoso.com",
        )
    return host
