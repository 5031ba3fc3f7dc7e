"""Pure: what the liveness proxy forwards and what it answers itself.

The four Face liveness routes, the API version segment, the anchored pattern the raw request line
must match (components/proxy_config.py renders it into nginx.conf), the methods forwarded, the
health path and the body of the proxy's own 404. `liveness-infra smoke`, the DNS support request,
the monitoring queries and the tests read the same names.
"""

from __future__ import annotations

import re

from components.proxy_settings import ProxySettings

# The four Face liveness routes the proxy forwards (Microsoft: "Use liveness detection with network
# isolation"). `{version}` is the API version segment, e.g. v1.2 or v1.2-preview.1.
LIVENESS_ROUTES: tuple[str, ...] = (
    "/face/{version}/session/start",
    "/face/{version}/session/attempt/end",
    "/face/{version}/detectLiveness/singleModal",
    "/face/{version}/detectLivenessWithVerify/singleModal",
)

HEALTH_PATH = "/healthz"
# The body of the proxy's own 404 for a route it does not forward. A fixed plain-text body (Face
# answers errors in JSON with an `error.code`), so `liveness-infra smoke` and an operator reading
# a response can tell "refused by the proxy" from "answered by Face".
REFUSED_ROUTE_BODY = "not found: this proxy forwards only the Face liveness routes\n"
# The API version segment: v1.2, v1.2-preview.1 (matched case-insensitively, like the routes).
VERSION_PATTERN = r"v[0-9]+\.[0-9]+(?:-preview\.[0-9]+)?"


def route_regex() -> str:
    """The anchored, case-insensitive pattern the raw request line must match to be forwarded.

    ``METHOD SP /face/{version}/{route}[?query] SP HTTP/1.x``: origin-form targets only; the path
    is exactly one of the four routes, nothing before or after it but an optional query string.
    """
    tails = "|".join(
        re.escape(r.split("{version}/", 1)[1]).replace("\\/", "/") for r in LIVENESS_ROUTES)
    return rf"^[A-Z]+ /face/{VERSION_PATTERN}/(?:{tails})(?:\?[^ ]*)? HTTP/1\.[01]$"


def allowed_methods(settings: ProxySettings) -> tuple[str, ...]:
    return ("POST", "OPTIONS") if settings.allow_options else ("POST",)
