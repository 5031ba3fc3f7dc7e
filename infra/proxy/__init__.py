"""Run the rendered nginx proxy locally (`liveness-infra proxy`)."""
