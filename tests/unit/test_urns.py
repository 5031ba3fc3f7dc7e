"""Existing stacks keep every resource: each URN the refactored program registers is either the URN
pinned before the refactoring (tests/unit/data/urns/, from `python -m tests.unit.urns` on the old
code) or carries an alias to it, and every pinned URN is still claimed by one resource."""

import json
from pathlib import Path

import pytest

from tests.unit import urns

PINNED = Path(__file__).parent / "data" / "urns"


@pytest.mark.parametrize("name", [*urns.STACKS, *urns.VARIANTS])
def test_every_pinned_urn_is_kept_or_aliased(name):
    pinned = set(json.loads((PINNED / f"{name}.json").read_text()))
    captured = urns.capture(name, urns.VARIANTS.get(name))
    claimed = set()
    for resource in captured:
        mine = {resource["urn"], *resource["aliases"]} & pinned
        assert len(mine) <= 1, f"{resource['urn']} claims several old URNs: {sorted(mine)}"
        # A resource that is new must be a component (no Azure resource appears out of nowhere).
        if not mine:
            assert resource["type"].startswith("liveness:"), f"{resource['urn']}: new Azure resource, no alias"
        claimed |= mine
    assert pinned - claimed == set(), "resources that would be deleted and re-created"


def test_the_app_keeps_its_urn_through_an_alias():
    """The one moved resource: the container app, now under LivenessProxyApp."""
    (app,) = [r for r in urns.capture("dev") if r["type"] == "azure-native:app:ContainerApp"]
    assert app["urn"].endswith("::liveness:proxy:LivenessProxyApp$azure-native:app:ContainerApp::proxy-app")
    # (The provider adds its own aliases for older API versions of the type; ours is the parent's.)
    assert "urn:pulumi:dev::face-liveness-isolation::liveness:proxy:LivenessProxy$azure-native:app:ContainerApp::proxy-app" in app["aliases"]  # noqa: E501 -- one resource id / URN / message kept whole so it greps
