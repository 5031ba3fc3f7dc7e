"""`liveness-infra config`: check a stack's config and render the config reference."""
