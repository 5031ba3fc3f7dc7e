"""Fixtures of the lifecycle tests (workflows, plan, teardown, ephemeral stacks).

Nothing here talks to Azure, Pulumi Cloud or GitHub: the Pulumi CLI and the Azure SDK client are
fakes that record calls (tests/lifecycle/fakes.py), the plan uses the mock runtime, and actionlint
runs locally as WebAssembly under node. A missing actionlint skips its tests, or fails them when
CI or LIVENESS_REQUIRE_TOOLS is set.
"""

from __future__ import annotations

import pytest

from tests.lifecycle.tools import Actionlint, find_actionlint
from tests.required_tools import missing_tool


@pytest.fixture(scope="session")
def actionlint() -> Actionlint:
    found = find_actionlint()
    if isinstance(found, str):
        missing_tool(found)
    return found
