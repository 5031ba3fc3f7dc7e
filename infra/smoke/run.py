"""The order of `liveness-infra smoke`'s checks, and what each one sends.

DNS -> TLS -> http:// redirect -> refused routes -> the four liveness routes -> OPTIONS ->
latency -> (``--session``) a real session. A failed TLS check stops the HTTPS checks a client
could not get past either, except the refused-route checks: those still run over a connection
that does not verify the certificate (and say so), because a bad certificate must not hide a
proxy that forwards what it should refuse. The run fails on the TLS check either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable

from components.proxy_routes import LIVENESS_ROUTES
from infra.smoke import probe as smoke_probe
from infra.dns.model import Server
from infra.smoke.judge_edge import judge_asuid, judge_azaiverify, judge_cname, judge_tls
from infra.smoke.judge_http import judge_latency, judge_options, judge_redirect, judge_refused, judge_route
from infra.smoke.model import FailureClass, Outcome, Verdict
from infra.smoke.probe import Endpoint
from infra.smoke.session import ClientFactory, face_session_client, run_session_check

DEFAULT_API_VERSION = "v1.2"
# Routes the proxy must never forward: session creation belongs to the app server (private path),
# at the GA path and at the preview path (one segment longer than an allowed route), and an
# arbitrary Face operation stands for everything else outside the allowlist.
REFUSED_ROUTES: tuple[str, ...] = ("/face/{version}/detectLiveness-sessions",
                                   "/face/{version}/detectLiveness/singleModal/sessions", "/face/{version}/detect")
# The Face SDK (azure-ai-vision-face 1.0.0b2, the newest published) implements v1.2-preview.1 paths
# (`/detectLiveness/singleModal/sessions`); --session uses that version unless told otherwise.
SESSION_API_VERSION = "v1.2-preview.1"
JSON_HEADERS: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
PREFLIGHT_HEADERS: tuple[tuple[str, str], ...] = (
    ("Origin", "https://smoke.invalid"), ("Access-Control-Request-Method", "POST"),
    ("Access-Control-Request-Headers", "authorization,content-type"))


@dataclass
class SmokeTarget:
    """Everything the checks compare against; unknown values (``--url`` alone) are None."""

    endpoint: Endpoint
    nameservers: list[Server] = field(default_factory=list)  # empty: DNS checks are skipped
    dns_timeout: float = 3.0
    ingress_fqdn: str | None = None
    asuid: str | None = None
    registration_state: str | None = None
    verification_code: str | None = None
    allow_preflight: bool | None = None
    api_version: str = DEFAULT_API_VERSION
    probes: int = 10
    face_endpoint: str | None = None  # https://<account>.cognitiveservices.azure.com, for --session
    session: bool = False
    session_api_version: str = SESSION_API_VERSION
    url: str = ""  # as the user gave it (--url, or https://<proxyHost> of the stack)


Progress = Callable[[str], None]


def route_target(route: str, version: str) -> str:
    return route.replace("{version}", version)


def route_label(route: str) -> str:
    return route.split("{version}/", 1)[1]


def _dns(target: SmokeTarget) -> list[Verdict]:
    host = target.endpoint.host
    if not target.nameservers:
        return [Verdict("dns", Outcome.SKIP, "no DNS server to ask (none given and none in /etc/resolv.conf)")]
    seen = smoke_probe.observe_dns(host, target.nameservers, target.dns_timeout)
    return [judge_cname(host, seen.chain, target.ingress_fqdn),
            judge_asuid(host, seen.asuid, target.asuid),
            judge_azaiverify(host, seen.azaiverify, target.registration_state, target.verification_code)]


def _post(target: SmokeTarget, path: str, headers=JSON_HEADERS, body: bytes = b"{}"):
    return smoke_probe.request(target.endpoint, "POST", path, headers=headers, body=body)


def run_checks(target: SmokeTarget, progress: Progress = lambda _line: None,
               now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
               session_client: ClientFactory = face_session_client) -> list[Verdict]:
    """Every check, in order; progress lines name each step as it starts."""
    host, version = target.endpoint.host, target.api_version
    verdicts: list[Verdict] = []

    def step(text: str) -> None:
        progress(f"smoke: {text}")

    step(f"public DNS of {host}")
    verdicts.extend(_dns(target))

    step(f"TLS on {target.endpoint.connect_host}:{target.endpoint.port} (SNI {host})")
    seen_tls = smoke_probe.observe_tls(target.endpoint)
    tls = judge_tls(host, seen_tls, now())
    verdicts.extend(tls)

    step(f"http://{host}/ redirects to https://")
    verdicts.append(judge_redirect(host, smoke_probe.request(target.endpoint, "GET", "/", scheme="http")))

    blocking = [v for v in tls if v.outcome in (Outcome.FAIL, Outcome.UNREACHABLE)]
    if blocking:
        reason = "unreachable" if blocking[0].outcome is Outcome.UNREACHABLE else "failed"
        if seen_tls.connected:  # a TLS session is possible, only the certificate is bad
            verdicts.extend(_refused_routes(target, step, trusted=False))
        verdicts.append(Verdict("https routes", Outcome.SKIP, f"not checked: TLS {reason}, so no client gets further"))
        return verdicts

    verdicts.extend(_refused_routes(target, step, trusted=True))

    first_route = route_target(LIVENESS_ROUTES[0], version)
    for route in LIVENESS_ROUTES:
        path = route_target(route, version)
        step(f"POST {path} (no token) must reach Face")
        verdicts.append(judge_route(route_label(route), _post(target, path)))

    step(f"OPTIONS {first_route} (browser preflight)")
    options = smoke_probe.request(target.endpoint, "OPTIONS", first_route, headers=PREFLIGHT_HEADERS)
    verdicts.append(judge_options(route_label(LIVENESS_ROUTES[0]), options, target.allow_preflight))

    step(f"latency: {target.probes} probes of POST {first_route}")
    verdicts.append(judge_latency([_post(target, first_route) for _ in range(target.probes)]))

    if target.session:
        step("session: create (private path), start through the proxy, delete")
        start_path = route_target(LIVENESS_ROUTES[0], target.session_api_version)
        verdicts.append(_session(target, session_client, start_path))
    return verdicts


def _refused_routes(target: SmokeTarget, step: Progress, trusted: bool) -> list[Verdict]:
    """The routes the proxy must refuse; `trusted` False: over TLS that skips certificate checks."""
    out = []
    context = None if trusted else smoke_probe.unverified_context()
    note = "" if trusted else " (certificate not trusted: checked over an unverified connection)"
    for route in REFUSED_ROUTES:
        path = route_target(route, target.api_version)
        step(f"POST {path} must get the proxy's own 404{note}")
        attempt = smoke_probe.request(target.endpoint, "POST", path, headers=JSON_HEADERS, body=b"{}", context=context)
        verdict = judge_refused(attempt)
        out.append(replace(verdict, summary=verdict.summary + note, details={**verdict.details, "certificateTrusted": trusted})
                   if not trusted else verdict)
    return out


def _session(target: SmokeTarget, client: ClientFactory, start_path: str) -> Verdict:
    if not target.face_endpoint:
        return Verdict("session", Outcome.FAIL, "--session needs the Face account endpoint",
                       "pass --stack (output faceEndpointHost) or --face-endpoint https://ACCOUNT.cognitiveservices.azure.com",
                       FailureClass.CONNECT)

    def start(token: str):
        return _post(target, start_path, headers=JSON_HEADERS + (("Authorization", f"Bearer {token}"),))

    return run_session_check(target.face_endpoint, target.session_api_version, start, client)
