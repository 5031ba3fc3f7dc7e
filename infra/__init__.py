"""The Pulumi program, its configuration schema and the `liveness-infra` command line."""
