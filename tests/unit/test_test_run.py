"""The everyday run is quick and CI keeps the property tests' full strength: `make test` runs two
workers per core (the real-tool tests wait on timers), CI selects the `ci` Hypothesis profile (2,000 stack files through validation, 200
through the offline plan)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from hypothesis import settings

import tests.property.conftest as property_profiles

ROOT = Path(__file__).resolve().parents[2]


def test_ci_selects_the_full_strength_profile():
    assert re.search(r"^export HYPOTHESIS_PROFILE=ci$", (ROOT / ".ci" / "run").read_text(), flags=re.MULTILINE)
    assert settings.get_profile("ci").max_examples == 2000
    assert 2000 // property_profiles.PLAN_FRACTION == 200
    assert settings.get_profile("everyday").max_examples < settings.get_profile("ci").max_examples


def test_make_test_runs_in_parallel():
    found = re.search(r"^test:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    assert found, "the Makefile has no test: recipe"
    recipe = found.group(1)
    assert "pytest -n $(TEST_WORKERS) --dist worksteal" in recipe
    workers = subprocess.run(["make", "-s", "-C", str(ROOT), "-n", "test", "MAKEFLAGS="], capture_output=True,
                             text=True, timeout=60, check=False).stdout
    assert f"pytest -n {2 * len(os.sched_getaffinity(0))} --dist worksteal" in workers, workers
    assert "pytest-xdist" in (ROOT / "pyproject.toml").read_text()
