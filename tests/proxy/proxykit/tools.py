"""The real tools a proxy test drives, found or the test skipped (or failed, where CI demands them)."""

from __future__ import annotations

import os
import shutil

import pytest


def required_tool(name: str, package: str) -> str:
    """The path of `name`; a test without it skips, or fails where CI or LIVENESS_REQUIRE_TOOLS
    say every tool must be there (scripts/install-system-deps.sh installs `package`)."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} not installed (apt-get install {package})"
    if os.environ.get("CI") or os.environ.get("LIVENESS_REQUIRE_TOOLS"):
        pytest.fail(message + "; CI/LIVENESS_REQUIRE_TOOLS is set, so this is an error")
    pytest.skip(message + "; set LIVENESS_REQUIRE_TOOLS=1 to make this an error")
