"""Lint exceptions stay narrow: ruff and mypy check every file with no file- or module-wide
opt-out, and each line-level exception names the rule it waives."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("infra", "components", "provider", "benchmarks", "tests")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _sources() -> list[Path]:
    return sorted(p for top in CHECKED for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


def test_mypy_checks_the_whole_tree_with_no_module_opted_out() -> None:
    mypy = _pyproject()["tool"]["mypy"]
    assert set(mypy["files"]) == set(CHECKED)
    for override in mypy.get("overrides", []):
        assert not override.get("ignore_errors"), f"modules opted out of type checking: {override['module']}"


def test_ruff_has_no_per_file_exceptions() -> None:
    lint = _pyproject()["tool"]["ruff"]["lint"]
    assert "per-file-ignores" not in lint, lint.get("per-file-ignores")


def test_every_line_level_exception_names_its_rule() -> None:
    bare = []
    for path in _sources():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"#\s*type:\s*ignore(?!\[)", line) or re.search(r"#\s*noqa(?!:\s*[A-Z]+\d+)", line):
                bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert not bare, f"a bare `type: ignore` or `noqa` waives every rule on its line: {bare}"


def test_the_line_check_can_fail() -> None:
    """Control for the check above: the patterns catch the bare forms and pass the named ones."""
    def flagged(line: str) -> bool:
        return bool(re.search(r"#\s*type:\s*ignore(?!\[)", line) or re.search(r"#\s*noqa(?!:\s*[A-Z]+\d+)", line))

    ignore, noqa = "# type: " + "ignore", "# " + "noqa"  # split so this file's own lines stay clean
    assert flagged(f"x = f()  {ignore}") and flagged(f"import a  {noqa}")
    assert not flagged(f"x = f()  {ignore}[attr-defined]") and not flagged(f"import a  {noqa}: E402")
