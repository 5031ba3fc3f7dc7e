"""Pure: who answered a request through the proxy, and what that means for each HTTP check.

Telling Face from the proxy (docs/operations.md "Step 4"; sources cited there):

* Face (Azure AI services) answers errors with a JSON body ``{"error": {"code", "message"}}``
  (Face error codes reference; ``FaceErrorOutput`` in the Face REST SDK) and stamps every answer
  with an ``apim-request-id`` header (the request id the Face liveness audit entries refer to);
  some operations add ``x-ms-error-code``.
* The proxy's own refusal is a 404 with the fixed ``text/plain`` body
  :data:`components.proxy_routes.REFUSED_ROUTE_BODY`; its other own answers (405 for a method it
  does not forward, 411, 429, 502/504 when the private endpoint cannot be reached) are nginx
  pages with none of Face's marks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence
from urllib.parse import urlsplit

from components.proxy_routes import REFUSED_ROUTE_BODY
from infra.smoke.model import (
    ErrorKind,
    FailureClass,
    HttpAnswer,
    HttpAttempt,
    Outcome,
    Verdict,
    percentile,
)

FACE_HEADERS: tuple[str, ...] = ("apim-request-id", "x-ms-error-code")
# p95 above this is reported as a warning (the liveness SDK makes a handful of calls per check).
LATENCY_WARN_MS = 1500.0


@dataclass(frozen=True)
class Signature:
    """Whose answer this is: Face's (with the marks that say so), the proxy's own refusal, or neither."""

    face: bool
    proxy_refusal: bool
    marks: tuple[str, ...]
    error_code: str | None = None

    @property
    def described(self) -> str:
        if self.face:
            return "Face (" + ", ".join(self.marks) + ")"
        if self.proxy_refusal:
            return "the proxy's own 404"
        return "neither Face nor the proxy's refusal"


def face_error(body: bytes) -> tuple[str, str] | None:
    """(code, message) when ``body`` is Face's error JSON, else None."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), (str, int)) and isinstance(error.get("message"), str):
        return str(error["code"]), error["message"]
    return None


def signature(answer: HttpAnswer) -> Signature:
    marks = [f"{name} header" for name in FACE_HEADERS if answer.header(name)]
    error = face_error(answer.body)
    if error is not None:
        marks.append(f"error JSON code {error[0]!r}")
    refusal = (answer.status == 404 and answer.content_type == "text/plain"
               and answer.body == REFUSED_ROUTE_BODY.encode() and not marks)
    return Signature(face=bool(marks), proxy_refusal=refusal, marks=tuple(marks),
                     error_code=error[0] if error else None)


def _no_answer(check: str, attempt: HttpAttempt) -> Verdict:
    if attempt.error_kind in (ErrorKind.CONNECT, ErrorKind.TLS):
        outcome = Outcome.UNREACHABLE if attempt.error_kind is ErrorKind.CONNECT else Outcome.FAIL
        return Verdict(check, outcome, f"{attempt.method} {attempt.target}: no connection ({attempt.error})",
                       "see the TLS and DNS checks above; is the container app running (revision healthy)?",
                       FailureClass.CONNECT)
    return Verdict(check, Outcome.FAIL, f"{attempt.method} {attempt.target}: no answer ({attempt.error})",
                   "the ingress or the proxy closed or stalled the request: check the proxy's error log "
                   "(`liveness-infra logs`) and the revision's replica restarts", FailureClass.CONNECT)


def _same_host_https(host: str, location: str) -> bool:
    """`location` is an absolute https:// URL to exactly `host` (default port): parsed, not a prefix,
    so `https://<host>.attacker.example/` and `https://<host>@attacker.example/` do not pass."""
    try:
        url = urlsplit(location.strip())
        port = url.port
    except ValueError:
        return False
    return (url.scheme.lower() == "https" and url.username is None and url.password is None
            and (url.hostname or "").rstrip(".") == host.lower().rstrip(".") and port in (None, 443))


def judge_redirect(host: str, attempt: HttpAttempt) -> Verdict:
    """``http://host/`` must answer with a redirect to ``https://host/...``."""
    check = "http redirect"
    if attempt.answer is None:
        if attempt.error_kind is ErrorKind.CONNECT:
            return Verdict(check, Outcome.WARN, f"http://{host}/ refused the connection ({attempt.error})",
                           "nothing answers plain HTTP, so nothing can leak over it; Container Apps normally "
                           "redirects port 80 to HTTPS (ingress allowInsecure false)")
        return _no_answer(check, attempt)
    a = attempt.answer
    location = a.header("location") or ""
    if a.status in (301, 302, 307, 308) and _same_host_https(host, location):
        return Verdict(check, Outcome.PASS, f"http:// answers {a.status} to {location}")
    if a.status in (301, 302, 307, 308):
        return Verdict(check, Outcome.FAIL, f"http:// redirects to {location or 'nowhere'} instead of https://{host}",
                       "the ingress should redirect to the same host over HTTPS: check the custom domain binding",
                       FailureClass.CONNECT)
    return Verdict(check, Outcome.FAIL, f"http:// answers {a.status} instead of redirecting to https://",
                   "set the ingress allowInsecure to false (the stack's default); never serve liveness "
                   "traffic over plain HTTP", FailureClass.EXPOSURE)


def judge_refused(attempt: HttpAttempt) -> Verdict:
    """A route the proxy must not forward gets the proxy's own 404, never an answer from Face."""
    check = "refused route"
    a = attempt.answer
    if a is None:
        return _no_answer(check, attempt)
    sig, what = signature(a), f"{attempt.method} {attempt.target}"
    if sig.proxy_refusal:
        return Verdict(check, Outcome.PASS, f"{what}: the proxy's own 404")
    if sig.face:
        return Verdict(check, Outcome.FAIL, f"{what}: forwarded to Face, which answered {a.status} ({sig.described})",
                       "the deployed proxy forwards routes outside the liveness allowlist: compare its config with "
                       "`liveness-infra proxy render --stack S` and redeploy (`pulumi up`)", FailureClass.EXPOSURE)
    return Verdict(check, Outcome.FAIL, f"{what}: answered {a.status} {a.content_type or 'without content type'}, "
                   "not the proxy's own 404",
                   "something other than the liveness proxy answers this host: check that the custom domain is "
                   "bound to the proxy app and that the proxy image runs the rendered config", FailureClass.EXPOSURE)


def judge_route(route: str, attempt: HttpAttempt) -> Verdict:
    """One of the four liveness routes, sent without a session token, must reach Face."""
    check = f"route {route}"
    a = attempt.answer
    if a is None:
        return _no_answer(check, attempt)
    sig, what = signature(a), f"{attempt.method} {attempt.target}"
    if sig.proxy_refusal:
        return Verdict(check, Outcome.FAIL, f"{what}: refused by the proxy (its own 404), so this route never reaches Face",
                       "the proxy's allowlist lacks this route or this API version: compare `liveness-infra proxy render` "
                       "with the deployed config and redeploy", FailureClass.PARTIAL)
    if not sig.face:
        if a.status in (502, 503, 504):
            return Verdict(check, Outcome.FAIL, f"{what}: the proxy answered {a.status} itself: it cannot reach Face's "
                           "private endpoint",
                           "check the private endpoint's IP in the proxy config (privateEndpointIps), the endpoints "
                           "subnet NSG, and the proxy's error log for TLS or connect errors", FailureClass.CONNECT)
        if a.status == 429:
            return Verdict(check, Outcome.WARN, f"{what}: the proxy rate-limited the smoke test (429)",
                           "run again with fewer --probes, or raise proxyRateLimitPerSecond")
        return Verdict(check, Outcome.FAIL, f"{what}: answered {a.status} without Face's marks (no apim-request-id, "
                       "no error JSON)",
                       "something between the client and Face answers instead of Face: check the ingress and the "
                       "proxy's access log for this request", FailureClass.PARTIAL)
    if a.status == 403:
        return Verdict(check, Outcome.FAIL, f"{what}: Face answered 403 ({sig.described})",
                       "Face refuses requests through this proxy: the proxy host is not (yet) registered with "
                       "Microsoft (registrationState), or clients reach Face another way; see Step 1-3 of the runbook",
                       FailureClass.FORBIDDEN)
    if a.status == 404:
        return Verdict(check, Outcome.FAIL, f"{what}: Face answered 404 ({sig.described}): Face does not know this "
                       "route at this API version", "pass the API version your client SDK uses with --api-version",
                       FailureClass.PARTIAL)
    if a.status >= 500:
        return Verdict(check, Outcome.FAIL, f"{what}: Face answered {a.status} ({sig.described})",
                       "a Face-side error: retry; if it persists, check Azure status and open a support request",
                       FailureClass.PARTIAL)
    if a.status == 429:
        return Verdict(check, Outcome.WARN, f"{what}: Face throttled the request (429)",
                       "the account's rate limit is reached: run again later or with fewer --probes")
    return Verdict(check, Outcome.PASS, f"{what}: reached Face, which answered {a.status} ({sig.described})",
                   details={"status": a.status, "ms": round(a.elapsed_ms, 1)})


def judge_options(route: str, attempt: HttpAttempt, allowed: bool | None) -> Verdict:
    """OPTIONS on a liveness route: forwarded to Face when proxyAllowBrowserPreflight, else 405 from the proxy."""
    check = "options preflight"
    if attempt.answer is None:
        return _no_answer(check, attempt)
    a = attempt.answer
    sig = signature(a)
    seen = f"OPTIONS {attempt.target}: " + (f"reached Face ({a.status})" if sig.face else f"{a.status} from the proxy")
    if allowed is None:
        return Verdict(check, Outcome.PASS if sig.face or a.status == 405 else Outcome.FAIL,
                       seen + " (proxyAllowBrowserPreflight unknown: pass --stack to compare)",
                       "" if sig.face or a.status == 405 else "the proxy should forward OPTIONS or answer 405",
                       None if sig.face or a.status == 405 else FailureClass.PARTIAL)
    if allowed and sig.face:
        return Verdict(check, Outcome.PASS, seen + ", as proxyAllowBrowserPreflight allows")
    if not allowed and not sig.face and a.status == 405:
        return Verdict(check, Outcome.PASS, seen + ", as proxyAllowBrowserPreflight is false")
    if allowed:
        return Verdict(check, Outcome.FAIL, seen + ", but proxyAllowBrowserPreflight is true: browsers' preflight fails",
                       "the deployed proxy config is older than the stack's: `pulumi up`", FailureClass.PARTIAL)
    return Verdict(check, Outcome.FAIL, seen + ", but proxyAllowBrowserPreflight is false",
                   "the deployed proxy forwards OPTIONS against the stack config: `pulumi up`", FailureClass.EXPOSURE)


def judge_latency(attempts: Sequence[HttpAttempt], warn_ms: float = LATENCY_WARN_MS) -> Verdict:
    """p50/p95 of complete round trips (new connection each: what a client's first call costs)."""
    check = "latency"
    answered = [a.answer for a in attempts if a.answer is not None]
    times = [a.elapsed_ms for a in answered]
    failed = len(attempts) - len(answered)
    not_face = sum(1 for a in answered if not signature(a).face)
    if not times:
        return Verdict(check, Outcome.FAIL, f"none of {len(attempts)} probes was answered",
                       "see the route checks above", FailureClass.CONNECT)
    p50, p95 = percentile(times, 50), percentile(times, 95)
    details = {"probes": len(attempts), "answered": len(answered), "p50_ms": round(p50, 1),
               "p95_ms": round(p95, 1), "max_ms": round(max(times), 1)}
    summary = f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms over {len(answered)} probes"
    if failed or not_face:
        return Verdict(check, Outcome.FAIL, summary + f"; {failed} unanswered, {not_face} not from Face",
                       "intermittent failures: check replica restarts and the proxy's error log", FailureClass.PARTIAL,
                       details)
    if p95 > warn_ms:
        return Verdict(check, Outcome.WARN, summary + f" (p95 above {warn_ms:.0f} ms)",
                       "slow: check the proxy's upstream_response_time in its access log (Face or the path to it?)",
                       details=details)
    return Verdict(check, Outcome.PASS, summary, details=details)
