"""Hypothesis profiles for the stack-file properties.

`ci` (CI sets CI=true, and .ci/run sets HYPOTHESIS_PROFILE=ci): 2,000 generated stack files
through validation and 200 through the offline plan. `everyday` (the default elsewhere, so a
local `make test` stays quick): 300 and 30. `large`: 20,000 and 2,000, for a local run before
touching config reading or validation:

    HYPOTHESIS_PROFILE=large .venv/bin/pytest -q tests/property
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = settings(deadline=None, derandomize=False, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("everyday", _COMMON, max_examples=300)
settings.register_profile("ci", _COMMON, max_examples=2000)
settings.register_profile("large", _COMMON, max_examples=20000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "everyday"))

# Offline plans cost ~0.3 s each: that property runs a tenth of the profile's examples.
PLAN_FRACTION = 10


def plan_examples() -> int:
    return max(1, settings().max_examples // PLAN_FRACTION)


def pytest_collection_modifyitems(items):
    """The suite's 300 s per-test timeout is for ordinary tests; these scale with the profile."""
    import pytest

    budget = 1800 if settings().max_examples <= 2000 else 4 * 3600
    for item in items:
        if "tests/property/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.timeout(budget))
