"""`liveness-infra logs`: summarise the proxy's JSON access log."""
