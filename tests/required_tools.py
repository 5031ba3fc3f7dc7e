"""The rule every real-tool test follows: a missing tool skips the test, unless CI or
LIVENESS_REQUIRE_TOOLS is set, where it fails (`make test` and `.ci/run` set it)."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def tools_required() -> bool:
    """CI (or LIVENESS_REQUIRE_TOOLS) turns a missing tool into a failure instead of a skip."""
    return any(os.environ.get(name) for name in ("CI", "LIVENESS_REQUIRE_TOOLS"))


def missing_tool(reason: str) -> NoReturn:  # pytest.fail and pytest.skip both raise
    if tools_required():
        pytest.fail(f"{reason} (CI/LIVENESS_REQUIRE_TOOLS is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


def required_tool(name: str, package: str) -> str:
    """The path of `name` on PATH, else `missing_tool` (scripts/install-system-deps.sh installs `package`)."""
    found = shutil.which(name)
    if found:
        return found
    missing_tool(f"{name} not installed (apt-get install {package})")
