"""Plans as plain data: resources and findings normalised from an evaluation or its JSON,
in a stable order, and inputs flattened to `path = value` lines for display and diff.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from infra.plan.model import SECRET, Finding


class _Absent:
    """Marks a path that exists on one side of a diff only."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT = _Absent()
COMMENT_MARKER = "<!-- liveness-offline-plan:{stack} -->"
MAX_VALUE_CHARS = 80
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    parent: Optional[str]
    inputs: Mapping[str, Any]
    protect: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.name)

    def as_json(self) -> dict[str, Any]:
        """The plan's JSON shape: exactly type, name, parent, inputs."""
        return {"type": self.type, "name": self.name, "parent": self.parent, "inputs": dict(self.inputs)}


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def as_resource(obj: Any) -> Resource:
    return Resource(
        type=str(_field(obj, "type")),
        name=str(_field(obj, "name")),
        parent=_field(obj, "parent"),
        inputs=dict(_field(obj, "inputs") or {}),
        protect=bool(_field(obj, "protect", False)),
    )


def as_resources(items: Iterable[Any]) -> list[Resource]:
    return [as_resource(item) for item in items]


def as_finding(obj: Any) -> Finding:
    return Finding(
        severity=str(_field(obj, "severity", "error")),
        invariant=str(_field(obj, "invariant", "")),
        message=str(_field(obj, "message", "")),
        resource=_field(obj, "resource"),
    )


def as_findings(items: Iterable[Any]) -> list[Finding]:
    return [as_finding(item) for item in items]


def stable_order(resources: Iterable[Resource]) -> list[Resource]:
    """Resources as a tree walk: each parent before its children, siblings by (type, name).

    The mock runtime records registrations as the program's async tasks happen to run, which
    differs between runs; a fixed order keeps plans and pull-request comments from churning.
    """
    items = list(resources)
    names = {r.name for r in items}
    children: dict[Optional[str], list[Resource]] = {}
    for r in items:
        parent = r.parent if r.parent in names and r.parent != r.name else None
        children.setdefault(parent, []).append(r)
    out: list[Resource] = []
    seen: set[int] = set()

    def walk(parent: Optional[str]) -> None:
        for r in sorted(children.get(parent, []), key=lambda x: (x.type, x.name)):
            if id(r) in seen:
                continue
            seen.add(id(r))
            out.append(r)
            walk(r.name)

    walk(None)
    out.extend(r for r in items if id(r) not in seen)  # parent cycles: keep, never drop
    return out


def plan_json(resources: Iterable[Any]) -> list[dict[str, Any]]:
    """The JSON document of `liveness-infra plan --json`: a list of resource objects."""
    return [as_resource(r).as_json() for r in resources]


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def placeholder_leaks(resources: Iterable[Resource], placeholder: str) -> list[Finding]:
    """Findings for every input path where the stand-in of a secure config value shows in plain.

    Offline evaluation feeds the program a placeholder for each `secure:` value and marks it
    secret; if it still appears unredacted, the program passes a secret on as plain text.
    """
    found: list[Finding] = []
    for r in resources:
        for path, value in flatten(r.inputs).items():
            if isinstance(value, str) and placeholder in value:
                found.append(Finding(
                    severity="error",
                    invariant="secrets stay secret",
                    message=f"input {path} carries a secure config value as plain text",
                    resource=r.name,
                ))
    return found


def _join(prefix: str, key: str) -> str:
    if _IDENT.match(key):
        return f"{prefix}.{key}" if prefix else key
    return f"{prefix}[{json.dumps(key)}]"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested inputs as {path: leaf}; paths like `properties.networkAcls.ipRules[0].value`.

    Empty mappings and lists are leaves (`{}` / `[]`) so that "set to empty" is visible. Keys
    come sorted: the recorded inputs' key order varies from run to run.
    """
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        if not value and prefix:
            out[prefix] = {}
        for k in sorted(value, key=str):
            out.update(flatten(value[k], _join(prefix, str(k))))
    elif isinstance(value, (list, tuple)):
        if not value and prefix:
            out[prefix] = []
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
    else:
        out[prefix or "(value)"] = value
    return out


def input_lines(inputs: Mapping[str, Any]) -> list[str]:
    """Every input leaf as `path = value`, in full; a multi-line string as an indented block.

    Secrets are already `[secret]` and print as exactly that.
    """
    lines: list[str] = []
    for path, value in flatten(inputs).items():
        if _multi_line_text(value):
            lines.append(f"{path} = |")
            lines += [f"    {line}" for line in value.splitlines()]
        else:
            lines.append(f"{path} = {show(value, limit=None)}")
    return lines or ["(no inputs)"]


def show(value: Any, limit: Optional[int] = MAX_VALUE_CHARS) -> str:
    """A leaf as one line of JSON, shortened to `limit` characters (None: never shortened)."""
    if value is ABSENT:
        return "(absent)"
    text = value if value == SECRET else json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = text.replace("\n", "\\n")
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _multi_line_text(value: Any) -> bool:
    return isinstance(value, str) and value != SECRET and "\n" in value


def text_diff(before: Any, after: Any, context: int = 3) -> list[str]:
    """A unified diff (lines without newlines) of a multi-line string input, else [].

    Shortened one-line values hide a change deep inside e.g. the rendered nginx.conf; this shows
    the changed lines themselves. Either side may be absent (diffed against nothing). A secret on
    either side gives [] so that only `[secret]` is ever shown for it.
    """
    sides = (before, after)
    if any(v == SECRET for v in sides) or not any(_multi_line_text(v) for v in sides):
        return []
    if not all(v is ABSENT or isinstance(v, str) for v in sides):
        return []
    old = [] if before is ABSENT else before.splitlines()
    new = [] if after is ABSENT else after.splitlines()
    return list(difflib.unified_diff(old, new, fromfile="base", tofile="head", n=context, lineterm=""))


def diff_summary(hunk: Sequence[str]) -> str:
    body = hunk[2:]  # past the ---/+++ header
    added = sum(1 for line in body if line.startswith("+"))
    removed = sum(1 for line in body if line.startswith("-"))
    return f"multi-line text, {added} line(s) added, {removed} removed"

