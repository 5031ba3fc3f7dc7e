"""Hypothesis profiles for the stack-file properties.

`make test` runs the default profile: 2,000 generated stack files through validation and 200
through the offline plan. `HYPOTHESIS_PROFILE=large` runs ten times as many (20,000 / 2,000),
for a local run before touching config reading or validation:

    HYPOTHESIS_PROFILE=large .venv/bin/pytest -q tests/property
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, derandomize=False, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("default", max_examples=2000, **_COMMON)
settings.register_profile("large", max_examples=20000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

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
