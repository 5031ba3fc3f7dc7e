"""Pure formatting and diffing of an offline plan (no Pulumi, no git, no I/O).

A plan here is a list of planned resources, each with `type`, `name`, `parent`, `inputs` (secrets
already shown as "[secret]") and optionally `protect`; plus findings (`severity`, `invariant`,
`message`, `resource`). Objects (the offline evaluation's dataclasses) and plain dicts (a plan
read back from JSON, e.g. the plan of another git ref) are both accepted.

`liveness-infra plan` (infra/plan/command.py) does the evaluation and the printing; everything that
decides what the output says lives here so it can be tested on hand-made plans.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence

SECRET = "[secret]"


class _Absent:
    """Marks a path that exists on one side of a diff only."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT = _Absent()
COMMENT_MARKER = "<!-- liveness-offline-plan:{stack} -->"
MAX_VALUE_CHARS = 80

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


# ---------------------------------------------------------------------------------------------
# Normalising resources and findings
# ---------------------------------------------------------------------------------------------


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
        """The DESIGN.md shape: exactly type, name, parent, inputs."""
        return {"type": self.type, "name": self.name, "parent": self.parent, "inputs": dict(self.inputs)}


@dataclass(frozen=True)
class Finding:
    severity: str
    invariant: str
    message: str
    resource: Optional[str] = None

    @property
    def key(self) -> tuple[str, str, Optional[str]]:
        return (self.invariant, self.message, self.resource)


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
    """The JSON document of `liveness-infra plan --format json`: a list of resource objects."""
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


# ---------------------------------------------------------------------------------------------
# Flattening inputs to paths
# ---------------------------------------------------------------------------------------------


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


def _diff_summary(hunk: Sequence[str]) -> str:
    body = hunk[2:]  # past the ---/+++ header
    added = sum(1 for line in body if line.startswith("+"))
    removed = sum(1 for line in body if line.startswith("-"))
    return f"multi-line text, {added} line(s) added, {removed} removed"


# ---------------------------------------------------------------------------------------------
# Diff
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ChangedResource:
    type: str
    name: str
    changes: tuple[Change, ...]

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.changes]


@dataclass
class PlanDiff:
    added: list[Resource] = field(default_factory=list)
    removed: list[Resource] = field(default_factory=list)
    changed: list[ChangedResource] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def counts(self) -> str:
        return f"{len(self.added)} to add, {len(self.changed)} to change, {len(self.removed)} to remove"

    def as_json(self) -> dict[str, Any]:
        return {
            "added": [{"type": r.type, "name": r.name} for r in self.added],
            "changed": [
                {
                    "type": c.type,
                    "name": c.name,
                    "changes": [{"path": x.path, "before": _jsonable(x.before), "after": _jsonable(x.after)} for x in c.changes],
                }
                for c in self.changed
            ],
            "removed": [{"type": r.type, "name": r.name} for r in self.removed],
            "unchanged": self.unchanged,
        }


def _jsonable(value: Any) -> Any:
    return None if value is ABSENT else value


def _keyed(resources: Sequence[Resource]) -> dict[tuple[str, str], Resource]:
    """Resources by (type, name); a repeated pair gets its parent added to tell them apart."""
    counts: dict[tuple[str, str], int] = {}
    for r in resources:
        counts[r.key] = counts.get(r.key, 0) + 1
    out: dict[tuple[str, str], Resource] = {}
    for r in resources:
        key = r.key if counts[r.key] == 1 else (r.type, f"{r.name} (in {r.parent})")
        out[key] = r
    return out


def same_value(a: Any, b: Any) -> bool:
    """Whether two leaves are the same input.

    Numbers compare by value (an older ref may render 300 as 300.0: no change), but a bool is
    never a number (True == 1 in Python, not in the provider's JSON); otherwise types must match.
    """
    a_bool, b_bool = isinstance(a, bool), isinstance(b, bool)
    if a_bool or b_bool:
        return a_bool and b_bool and a == b
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers):
        return a == b
    return type(a) is type(b) and a == b


def resource_changes(before: Resource, after: Resource) -> list[Change]:
    changes: list[Change] = []
    if before.parent != after.parent:
        changes.append(Change("(parent)", before.parent, after.parent))
    if before.protect != after.protect:
        changes.append(Change("(protect)", before.protect, after.protect))
    old, new = flatten(before.inputs), flatten(after.inputs)
    for path in list(old) + [p for p in new if p not in old]:
        a, b = old.get(path, ABSENT), new.get(path, ABSENT)
        if not same_value(a, b):
            changes.append(Change(path, a, b))
    return changes


def diff_plans(base: Iterable[Any], head: Iterable[Any]) -> PlanDiff:
    """What applying `head` over `base` adds, changes and removes, by (type, logical name)."""
    old = _keyed(as_resources(base))
    new = _keyed(as_resources(head))
    diff = PlanDiff()
    for key, r in new.items():
        if key not in old:
            diff.added.append(Resource(r.type, key[1], r.parent, r.inputs, r.protect))
            continue
        changes = resource_changes(old[key], r)
        if changes:
            diff.changed.append(ChangedResource(key[0], key[1], tuple(changes)))
        else:
            diff.unchanged += 1
    for key, r in old.items():
        if key not in new:
            diff.removed.append(Resource(r.type, key[1], r.parent, r.inputs, r.protect))
    return diff


def new_findings(base: Iterable[Finding], head: Iterable[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(findings only in head, findings only in base)."""
    b = {f.key for f in base}
    h = {f.key for f in head}
    return [f for f in head if f.key not in b], [f for f in base if f.key not in h]


# ---------------------------------------------------------------------------------------------
# Key settings (from the validated stack settings)
# ---------------------------------------------------------------------------------------------


def key_settings(settings: Any) -> list[tuple[str, str]]:
    """The handful of settings a reviewer wants first, as (label, value) pairs."""
    s = settings
    face, proxy, dns, reg = s.face, s.proxy, s.dns, s.registration
    rows = [
        ("lifecycle", f"{s.lifecycle} ({'protected, teardown refused' if s.lifecycle == 'prod' else 'may be torn down'})"),
        ("location", s.location),
        ("resource group", s.resource_group_name),
        ("face account", f"{face.account_name} ({face.kind} {face.sku})"),
        ("face endpoint", face.endpoint_host),
        ("private DNS", face.private_dns_mode),
        ("key auth", "disabled" if face.disable_local_auth else "ENABLED"),
        ("account IP rules", ", ".join(face.ip_rules) if face.ip_rules else "none"),
        ("proxy host", proxy.host),
        ("proxy image", proxy.image),
        ("proxy replicas", f"{proxy.min_replicas}..{proxy.max_replicas}"),
        ("proxy certificate", f"{proxy.certificate_source}" + (f" ({proxy.domain_binding})" if proxy.certificate_source == "managed" else "")),
        ("browser preflight", "allowed" if proxy.allow_browser_preflight else "refused"),
        ("public DNS", dns.mode + (f" zone {dns.zone_name}" if dns.zone_name else "")),
        ("registration", reg.state + (" (verification code set)" if reg.verification_code_configured else "")),
    ]
    return [(label, str(value)) for label, value in rows]


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def finding_line(f: Finding) -> str:
    where = f" [{f.resource}]" if f.resource else ""
    return f"{f.severity.upper()}: {f.invariant}: {f.message}{where}"


def render_text(
    stack: str,
    resources: Sequence[Any],
    findings: Sequence[Any],
    settings_rows: Sequence[tuple[str, str]] = (),
) -> str:
    res, fnd = as_resources(resources), as_findings(findings)
    lines = [f"Offline plan for stack {stack!r}: {len(res)} resources (mock runtime, no credentials)"]
    if settings_rows:
        lines += ["", "Key settings"]
        width = max(len(label) for label, _ in settings_rows)
        lines += [f"  {label.ljust(width)}  {value}" for label, value in settings_rows]
    lines += ["", "Resources"]
    for r in res:
        parent = f"  (parent {r.parent})" if r.parent else ""
        protect = "  [protected]" if r.protect else ""
        lines.append(f"  + {r.type}  {r.name}{parent}{protect}")
        for path, value in flatten(r.inputs).items():
            lines.append(f"      {path} = {show(value, 200)}")
    lines += ["", _findings_heading(fnd)]
    lines += [f"  {finding_line(f)}" for f in fnd]
    return "\n".join(lines) + "\n"


def _findings_heading(findings: Sequence[Finding]) -> str:
    if not findings:
        return "Security findings: none (every DESIGN.md invariant holds)"
    n_err = len(errors(findings))
    return f"Security findings: {n_err} error(s), {len(findings) - n_err} warning(s)"


def render_diff_text(stack: str, base_label: str, diff: PlanDiff, head_findings: Sequence[Any], base_findings: Sequence[Any] = ()) -> str:
    hf, bf = as_findings(head_findings), as_findings(base_findings)
    lines = [f"Offline plan diff for stack {stack!r} against {base_label}: {diff.counts()} ({diff.unchanged} unchanged)"]
    for r in diff.added:
        lines.append(f"  + {r.type}  {r.name}")
    for c in diff.changed:
        lines.append(f"  ~ {c.type}  {c.name}")
        for x in c.changes:
            hunk = text_diff(x.before, x.after)
            if hunk:
                lines.append(f"      {x.path}: {_diff_summary(hunk)}")
                lines += [f"          {line}" for line in hunk]
            else:
                lines.append(f"      {x.path}: {show(x.before)} -> {show(x.after)}")
    for r in diff.removed:
        lines.append(f"  - {r.type}  {r.name}")
    if diff.empty:
        lines.append("  no changes")
    introduced, resolved = new_findings(bf, hf)
    lines += ["", _findings_heading(hf)]
    for f in hf:
        lines.append(f"  {finding_line(f)}" + ("  (new)" if f in introduced else ""))
    for f in resolved:
        lines.append(f"  resolved: {finding_line(f)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------


def md_code(text: str) -> str:
    """`text` as an inline code span that survives backticks and table pipes."""
    text = text.replace("|", "\\|").replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_fenced(body: Sequence[str], info: str = "") -> list[str]:
    """`body` as a fenced code block whose fence is longer than any backtick run inside it."""
    longest = max((len(m) for line in body for m in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *body, fence]


def _md_details(summary_html: str, body: Sequence[str]) -> list[str]:
    return [f"<details><summary>{summary_html}</summary>", "", *body, "", "</details>"]


def _md_findings(findings: Sequence[Finding], introduced: Sequence[Finding] = (), resolved: Sequence[Finding] = ()) -> list[str]:
    if not findings and not resolved:
        return ["**Security findings:** none — every DESIGN.md invariant holds."]
    n_err = len(errors(findings))
    lines = [f"**Security findings:** {n_err} error(s), {len(findings) - n_err} warning(s)", ""]
    for f in findings:
        new = " *(new in this change)*" if f in introduced else ""
        where = f" on {md_code(f.resource)}" if f.resource else ""
        lines.append(f"- **{f.severity}** {f.invariant}{where}: {f.message}{new}")
    for f in resolved:
        lines.append(f"- resolved by this change: {f.invariant}: {f.message}")
    return lines


def render_markdown(
    stack: str,
    resources: Sequence[Any],
    findings: Sequence[Any],
    settings_rows: Sequence[tuple[str, str]] = (),
) -> str:
    res, fnd = as_resources(resources), as_findings(findings)
    lines = [
        COMMENT_MARKER.format(stack=stack),
        f"### Offline plan: {md_code(stack)}",
        "",
        f"{len(res)} resources, evaluated with the mock runtime (no credentials).",
        "",
    ]
    lines += _md_findings(fnd)
    if settings_rows:
        lines += ["", "| Setting | Value |", "|---|---|"]
        lines += [f"| {label} | {md_code(value)} |" for label, value in settings_rows]
    lines += ["", f"<details><summary>Resources ({len(res)})</summary>", "", "| Type | Name | Parent |", "|---|---|---|"]
    for r in res:
        name = md_code(r.name) + (" 🔒" if r.protect else "")
        lines.append(f"| {md_code(r.type)} | {name} | {md_code(r.parent) if r.parent else ''} |")
    lines += ["", "Inputs of each resource (secrets shown as `[secret]`):"]
    for r in res:
        summary = f"<code>{html.escape(r.type)}</code> <code>{html.escape(r.name)}</code>"
        lines += ["", *_md_details(summary, md_fenced(input_lines(r.inputs)))]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def render_diff_markdown(
    stack: str,
    base_label: str,
    diff: PlanDiff,
    head_findings: Sequence[Any],
    base_findings: Sequence[Any] = (),
    max_changes_per_resource: int = 25,
) -> str:
    hf, bf = as_findings(head_findings), as_findings(base_findings)
    introduced, resolved = new_findings(bf, hf)
    lines = [
        COMMENT_MARKER.format(stack=stack),
        f"### Offline plan diff: {md_code(stack)} against {md_code(base_label)}",
        "",
        f"**{diff.counts()}** ({diff.unchanged} unchanged). Compared by resource type and logical name; "
        "inputs as the provider would receive them, secrets shown as `[secret]`; no credentials used.",
        "",
    ]
    lines += _md_findings(hf, introduced, resolved)
    if diff.empty:
        lines += ["", "No resource changes."]
        return "\n".join(lines) + "\n"
    lines += ["", "| | Resource | What changes |", "|---|---|---|"]
    for r in diff.added:
        lines.append(f"| ➕ add | {md_code(r.type)} {md_code(r.name)} | |")
    blocks: list[str] = []
    for c in diff.changed:
        shown = []
        for x in c.changes[:max_changes_per_resource]:
            hunk = text_diff(x.before, x.after)
            if hunk:
                shown.append(f"{md_code(x.path)}: {_diff_summary(hunk)} (diff below)")
                summary = f"✏️ <code>{html.escape(c.name)}</code> <code>{html.escape(x.path)}</code>"
                blocks += ["", *_md_details(summary, md_fenced(hunk, "diff"))]
            else:
                shown.append(f"{md_code(x.path)}: {md_code(show(x.before))} → {md_code(show(x.after))}")
        more = len(c.changes) - len(shown)
        if more > 0:
            shown.append(f"… and {more} more")
        lines.append(f"| ✏️ change | {md_code(c.type)} {md_code(c.name)} | {'<br>'.join(shown)} |")
    for r in diff.removed:
        lines.append(f"| ➖ remove | {md_code(r.type)} {md_code(r.name)} | |")
    lines += blocks
    return "\n".join(lines) + "\n"
