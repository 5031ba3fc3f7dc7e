"""Errors that are the user's to fix: shown as one clear message, never as a traceback."""

from __future__ import annotations

import json

# A received value is echoed at most this long (a 200 KB value must not become a 200 KB line).
MAX_SHOWN_VALUE = 80
# The whole message of a user error, on one line.
MAX_MESSAGE = 300


def _as_written(value: object) -> str:
    """`value` as a stack file or command line would write it: null, true, false, numbers and
    lists/mappings in YAML/JSON flow style; strings (and anything else) quoted as Python does."""
    if value is None or isinstance(value, (bool, int, float, list, dict)):
        try:
            return json.dumps(value, ensure_ascii=True)
        except (TypeError, ValueError):
            pass  # a container holding something JSON cannot show: fall back to repr
    return repr(value)


def shorten(value: object, limit: int = MAX_SHOWN_VALUE) -> str:
    """`value` as the user wrote it (null, true, 3, 'text', ["a"]), on one line and at most `limit`
    characters (middle elided, length said).

    Never raises: huge ints (beyond Python's 4,300-digit str limit), surrogates and odd objects
    all give a printable stand-in.
    """
    try:
        text = _as_written(value)
    except Exception:  # noqa: BLE001 - e.g. ValueError for an int of more than 4,300 digits
        text = f"<{type(value).__name__} too large to show>"
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    text = " ".join(text.split())  # repr escapes newlines already; collapse any other whitespace
    if len(text) <= limit:
        return text
    keep = max(limit - 24, 8)
    head, tail = text[: keep * 2 // 3], text[-(keep - keep * 2 // 3):]
    return f"{head}…{tail} ({len(text)} chars)"


def names_list(names: list[str], limit: int = 120) -> str:
    """``names`` comma-separated, cut to about ``limit`` characters with how many were left out."""
    shown: list[str] = []
    for name in names:
        if shown and len(", ".join([*shown, name])) > limit:
            return f"{', '.join(shown)} and {len(names) - len(shown)} more"
        shown.append(name)
    return ", ".join(shown) or "none"


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    """`message` on one line, cut to `limit` characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class UserError(Exception):
    """A mistake in input (config, flags, files) that the user can correct.

    The message must name what was wrong (config key or flag), what was received and what is
    expected.
    """


class ConfigError(UserError):
    """A stack configuration value is missing or invalid."""

    def __init__(self, key: str, received: object, expected: str):
        self.key = key
        self.received = received
        self.expected = expected
        super().__init__(one_line(f"config key '{key}': received {shorten(received)}; expected {expected}"))


def component_refusal(exc: Exception) -> str:
    """What to say when a component refuses Args that config validation let through (a bug)."""
    return f"a component refused its arguments (please report: the stack config validated): {exc}"
