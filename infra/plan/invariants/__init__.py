"""The security invariants, one module per thing they protect; checks.py runs them all."""
