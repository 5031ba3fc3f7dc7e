"""Ephemeral stacks and teardown (destroy, purge, cleanup)."""
