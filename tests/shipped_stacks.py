"""The example stacks this repository ships in stacks/, by name.

Tests that check a stack in depth (evaluate the program, render nginx, compare with the CI
workflows) take these, not every file in stacks/: a user's own stack, copied and half-edited as
the README's "First deploy" says, must not fail unrelated tests. `liveness-infra config check --stack NAME`
is what reports a user's stack (tests/unit/test_user_stacks.py)."""

from __future__ import annotations

SHIPPED_STACKS: tuple[str, ...] = ("dev", "pr", "prod", "staging")
# Stacks that live on (the `pr` file is the template for ephemeral pr-<N> stacks).
LONG_LIVED_STACKS: tuple[str, ...] = tuple(s for s in SHIPPED_STACKS if s != "pr")
