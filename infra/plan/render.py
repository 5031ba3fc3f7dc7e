"""Pure formatting and diffing of an offline plan (no Pulumi, no git, no I/O).

A plan here is a list of planned resources, each with `type`, `name`, `parent`, `inputs` (secrets
already shown as "[secret]") and optionally `protect`; plus findings (`severity`, `invariant`,
`message`, `resource`). Objects (the offline evaluation's dataclasses) and plain dicts (a plan
read back from JSON, e.g. the plan of another git ref) are both accepted.

`liveness-infra plan` (infra/plan/command.py) does the evaluation and the printing; everything that
decides what the output says lives here so it can be tested on hand-made plans: normalising and
flattening in infra/plan/normalize.py, the diff in infra/plan/diff.py, text and markdown here.
"""

from __future__ import annotations

import html
import re
from typing import Any, Sequence

from infra.plan.diff import PlanDiff, new_findings
from infra.plan.model import Finding
from infra.plan.normalize import (
    COMMENT_MARKER, diff_summary, as_findings, as_resources, errors, flatten, input_lines,
    show, text_diff,
)


def finding_line(f: Finding) -> str:
    where = f" [{f.resource}]" if f.resource else ""
    return f"{f.severity.upper()}: {f.invariant}: {f.message}{where}"


def render_text(stack: str, resources: Sequence[Any], findings: Sequence[Any],
                settings_rows: Sequence[tuple[str, str]] = ()) -> str:
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
        return "Security findings: none (every invariant of docs/invariants.md holds)"
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
                lines.append(f"      {x.path}: {diff_summary(hunk)}")
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
        return ["**Security findings:** none — every invariant of docs/invariants.md holds."]
    n_err = len(errors(findings))
    lines = [f"**Security findings:** {n_err} error(s), {len(findings) - n_err} warning(s)", ""]
    for f in findings:
        new = " *(new in this change)*" if f in introduced else ""
        where = f" on {md_code(f.resource)}" if f.resource else ""
        lines.append(f"- **{f.severity}** {f.invariant}{where}: {f.message}{new}")
    for f in resolved:
        lines.append(f"- resolved by this change: {f.invariant}: {f.message}")
    return lines


def render_markdown(stack: str, resources: Sequence[Any], findings: Sequence[Any],
                    settings_rows: Sequence[tuple[str, str]] = ()) -> str:
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
                shown.append(f"{md_code(x.path)}: {diff_summary(hunk)} (diff below)")
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

