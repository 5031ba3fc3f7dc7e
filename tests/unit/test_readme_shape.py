"""README.md is the page a platform engineer reads before deploying: short, with the prerequisites
and the first-deploy path near the top. Detail lives in docs/."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 300
TOP_LINES = 120
# Headings that must start within the first TOP_LINES lines (matched at the start of a `## ` heading).
TOP_HEADINGS = ("Prerequisites", "First deploy")


def shape_problems(text: str) -> list[str]:
    """What breaks the README's shape: too long, or a required heading missing or too far down."""
    lines = text.splitlines()
    problems = []
    if len(lines) > MAX_LINES:
        problems.append(f"README.md has {len(lines)} lines; at most {MAX_LINES}")
    for heading in TOP_HEADINGS:
        found = [n for n, line in enumerate(lines, 1) if re.match(rf"## {re.escape(heading)}\b", line)]
        if not found:
            problems.append(f"no `## {heading}…` heading")
        elif found[0] > TOP_LINES:
            problems.append(f"`## {heading}…` starts at line {found[0]}; expected within the first {TOP_LINES}")
    return problems


def test_the_readme_is_short_with_prerequisites_and_first_deploy_near_the_top():
    assert shape_problems((ROOT / "README.md").read_text()) == []


def test_the_shape_check_fails_a_long_readme_with_the_path_far_down():
    """Control: the README before the rewrite (812 lines; prerequisites at 130, the Quick start at
    141 and no first-deploy heading) is refused on every count, as is a short page whose
    headings sit too low."""
    long_page = "\n".join(["intro"] * 129 + ["## Prerequisites"] + ["text"] * 10 + ["## Quick start"]
                          + ["text"] * 671)
    problems = shape_problems(long_page)
    assert any("812 lines" in p for p in problems)
    assert any("Prerequisites" in p and "line 130" in p for p in problems)
    assert any("First deploy" in p and "no `##" in p for p in problems)
    low = "\n".join(["text"] * 150 + ["## Prerequisites", "## First deploy, in order"])
    assert len(shape_problems(low)) == 2
