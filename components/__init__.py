"""Pulumi ComponentResources for the isolated Face liveness deployment (one per module)."""
