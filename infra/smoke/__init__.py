"""`liveness-infra smoke`: probe a deployed endpoint and judge the answers."""
