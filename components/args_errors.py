"""ComponentArgsError: the one error a component raises for bad Args, and the checks behind it.

Every component validates its Args in the constructor, before declaring anything, and says which
field was wrong, what it received (shortened) and what it expected, in one line.
"""

import ipaddress
import re
from typing import Any, Iterable, Mapping

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


class ComponentArgsError(ValueError):
    """`<Component>Args.<field>: received <value>; expected <what>`."""

    field: str | None  # None (and expected too) when one error reports several fields (`several`)
    expected: str | None

    def __init__(self, args_type: str, field: str, received: object, expected: str):
        shown = repr(received)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{args_type}.{field}: received {shown}; expected {expected}")
        self.args_type, self.field, self.received, self.expected = args_type, field, received, expected

    @classmethod
    def several(cls, args_type: str, problems: list[str]) -> "ComponentArgsError":
        """One error for several fields, each `field: received …; expected …`, joined with `; `."""
        error = cls.__new__(cls)
        ValueError.__init__(error, f"{args_type} " + "; ".join(problems))
        error.args_type, error.field, error.received, error.expected = args_type, None, None, None
        return error


def required(args_type: str, args: Mapping[str, Any], fields: Iterable[str]) -> None:
    """Each named field is present and not None."""
    for field in fields:
        if args.get(field) is None:
            raise ComponentArgsError(args_type, field, args.get(field), "a value (required)")


def one_of(args_type: str, field: str, value: object, choices: Iterable[str]) -> None:
    allowed = tuple(choices)
    if value not in allowed:
        raise ComponentArgsError(args_type, field, value, "one of " + ", ".join(allowed))


def int_range(args_type: str, field: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ComponentArgsError(args_type, field, value, f"an integer from {low} to {high}")


def cidr(args_type: str, field: str, value: object) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(str(value), strict=True)
    except ValueError:
        raise ComponentArgsError(args_type, field, value, "an IPv4 CIDR such as 10.40.0.0/16") from None


def hostname(args_type: str, field: str, value: object) -> None:
    """A lowercase DNS name of at least two labels (letters, digits, hyphens), no trailing dot."""
    labels = value.split(".") if isinstance(value, str) else []
    if (not isinstance(value, str) or len(value) > 253 or len(labels) < 2
            or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit()):
        raise ComponentArgsError(args_type, field, value, "a lowercase DNS hostname such as liveness.contoso.com")


def plain_str(args_type: str, field: str, value: object) -> None:
    """A plain (known at declaration) non-empty string: names and the like."""
    if not isinstance(value, str) or not value:
        raise ComponentArgsError(args_type, field, value, "a non-empty string")
