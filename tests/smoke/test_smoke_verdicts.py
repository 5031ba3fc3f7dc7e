"""Pure verdicts of `liveness-infra smoke` (no sockets): who answered, what each answer means."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from components.proxy_routes import REFUSED_ROUTE_BODY
from infra.dns.model import Reply, Role, Server, Status
from infra.dns.records import Chain
from infra.smoke.judge_edge import judge_asuid, judge_azaiverify, judge_cname, judge_tls, name_matches
from infra.smoke.judge_http import (
    judge_latency,
    judge_options,
    judge_redirect,
    judge_refused,
    judge_route,
    signature,
)
from infra.smoke.model import (
    ErrorKind,
    FailureClass,
    HttpAnswer,
    HttpAttempt,
    Outcome,
    TlsObservation,
    Verdict,
    exit_code,
    percentile,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
SERVER = Server("127.0.0.1", 53, Role.NAMESERVER)
INGRESS = "app.env.westeurope.azurecontainerapps.io"


def face(status: int, code: str = "401", headers: tuple = (("apim-request-id", "1f2e"),)) -> HttpAttempt:
    body = json.dumps({"error": {"code": code, "message": "m"}}).encode()
    return HttpAttempt("POST", "/face/v1.2/session/start",
                       HttpAnswer(status, "", (("Content-Type", "application/json"), *headers), body, 12.0))


def plain(status: int, body: bytes = b"", content_type: str = "text/html", headers: tuple = ()) -> HttpAttempt:
    return HttpAttempt("POST", "/face/v1.2/x",
                       HttpAnswer(status, "", (("Content-Type", content_type), *headers), body, 3.0))


REFUSAL = plain(404, REFUSED_ROUTE_BODY.encode(), "text/plain")


def answer_of(attempt: HttpAttempt) -> HttpAnswer:
    assert attempt.answer is not None, "these attempts were all answered"
    return attempt.answer


# -- who answered -------------------------------------------------------------------------------

def test_face_is_recognised_by_its_error_json_or_its_request_id_header():
    assert signature(answer_of(face(401))).face
    assert signature(answer_of(face(401, headers=()))).marks == ("error JSON code '401'",)
    assert signature(answer_of(plain(200, b"{}", "application/json", (("apim-request-id", "a"),)))).face
    assert signature(answer_of(plain(400, b'{"error": {"code": "X"}}', "application/json"))).face is False


def test_only_the_exact_fixed_body_is_the_proxys_refusal():
    assert signature(answer_of(REFUSAL)).proxy_refusal
    assert not signature(answer_of(plain(404, b"404 page not found\n", "text/plain"))).proxy_refusal
    assert not signature(answer_of(plain(404, REFUSED_ROUTE_BODY.encode(), "text/html"))).proxy_refusal


# -- routes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("attempt, outcome, failure_class", [
    (face(401), Outcome.PASS, None),
    (face(400, "BadArgument"), Outcome.PASS, None),
    (face(403, "Forbidden"), Outcome.FAIL, FailureClass.FORBIDDEN),
    (face(404, "404"), Outcome.FAIL, FailureClass.PARTIAL),
    (face(500, "InternalServerError"), Outcome.FAIL, FailureClass.PARTIAL),
    (face(429, "429"), Outcome.WARN, None),
    (REFUSAL, Outcome.FAIL, FailureClass.PARTIAL),
    (plain(502, b"<html>bad gateway</html>"), Outcome.FAIL, FailureClass.CONNECT),
    (plain(429, b"<html>too many</html>"), Outcome.WARN, None),
    (plain(200, b"hello"), Outcome.FAIL, FailureClass.PARTIAL),
    (HttpAttempt("POST", "/x", error="timed out", error_kind=ErrorKind.TIMEOUT), Outcome.FAIL, FailureClass.CONNECT),
    (HttpAttempt("POST", "/x", error="refused", error_kind=ErrorKind.CONNECT), Outcome.UNREACHABLE, FailureClass.CONNECT),
])
def test_route_verdicts(attempt, outcome, failure_class):
    verdict = judge_route("session/start", attempt)
    assert (verdict.outcome, verdict.failure_class) == (outcome, failure_class)
    assert bool(verdict.fix) == (outcome is not Outcome.PASS)


def test_refused_route_forwarded_to_face_is_an_exposure():
    assert judge_refused(REFUSAL).outcome is Outcome.PASS
    forwarded = judge_refused(face(401))
    assert forwarded.outcome is Outcome.FAIL and forwarded.failure_class is FailureClass.EXPOSURE
    other = judge_refused(plain(404, b"<html>404</html>"))
    assert other.outcome is Outcome.FAIL and "not the proxy's own 404" in other.summary


@pytest.mark.parametrize("attempt, allowed, outcome", [
    (face(200), True, Outcome.PASS),
    (plain(405), False, Outcome.PASS),
    (plain(405), True, Outcome.FAIL),
    (face(200), False, Outcome.FAIL),
    (face(200), None, Outcome.PASS),
    (plain(405), None, Outcome.PASS),
    (plain(404, b"x"), None, Outcome.FAIL),
])
def test_options_follows_the_preflight_setting(attempt, allowed, outcome):
    assert judge_options("session/start", attempt, allowed).outcome is outcome


def test_redirect():
    ok = HttpAttempt("GET", "/", HttpAnswer(301, "", (("Location", "https://h.test/"),), b"", 1.0))
    assert judge_redirect("h.test", ok).outcome is Outcome.PASS
    elsewhere = HttpAttempt("GET", "/", HttpAnswer(302, "", (("Location", "https://evil.test/"),), b"", 1.0))
    assert judge_redirect("h.test", elsewhere).outcome is Outcome.FAIL
    served = judge_redirect("h.test", HttpAttempt("GET", "/", HttpAnswer(200, "", (), b"", 1.0)))
    assert served.outcome is Outcome.FAIL and served.failure_class is FailureClass.EXPOSURE
    closed = judge_redirect("h.test", HttpAttempt("GET", "/", error="refused", error_kind=ErrorKind.CONNECT))
    assert closed.outcome is Outcome.WARN


@pytest.mark.parametrize("location,outcome", [
    ("https://h.test/", Outcome.PASS),
    ("https://H.test:443/path?q=1", Outcome.PASS),
    ("https://h.test./", Outcome.PASS),
    # A string-prefix comparison passed all of these (the old check).
    ("https://h.test.attacker.example/", Outcome.FAIL),
    ("https://h.testattacker.example/", Outcome.FAIL),
    ("https://h.test@attacker.example/", Outcome.FAIL),
    ("https://h.test:8443/", Outcome.FAIL),
    ("https://h.test:notaport/", Outcome.FAIL),
    ("http://h.test/", Outcome.FAIL),
    ("//h.test/", Outcome.FAIL),
])
def test_redirect_compares_scheme_and_host_exactly(location, outcome):
    attempt = HttpAttempt("GET", "/", HttpAnswer(301, "", (("Location", location),), b"", 1.0))
    assert judge_redirect("h.test", attempt).outcome is outcome


# -- latency and exit codes -----------------------------------------------------------------------

def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(10, 0, -1)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (5.0, 10.0, 10.0)
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_reports_percentiles_and_fails_on_lost_probes():
    def timed(ms: float) -> HttpAttempt:
        a = answer_of(face(401))
        return HttpAttempt("POST", "/face/v1.2/session/start", HttpAnswer(401, "", a.headers, a.body, ms))

    verdict = judge_latency([timed(ms) for ms in (10, 20, 30, 40, 100)])
    assert verdict.outcome is Outcome.PASS and verdict.details["p50_ms"] == 30 and verdict.details["p95_ms"] == 100
    assert judge_latency([timed(2000)] * 3).outcome is Outcome.WARN
    lost = judge_latency([timed(10), HttpAttempt("POST", "/", error="x", error_kind=ErrorKind.TIMEOUT)])
    assert lost.outcome is Outcome.FAIL and lost.details["answered"] == 1
    assert judge_latency([HttpAttempt("POST", "/", error="x", error_kind=ErrorKind.TIMEOUT)]).outcome is Outcome.FAIL


def test_exit_code_a_failure_wins_over_unreachable():
    v = lambda o: Verdict("c", o, "s")  # noqa: E731
    assert exit_code([v(Outcome.PASS), v(Outcome.WARN), v(Outcome.SKIP)]) == 0
    assert exit_code([v(Outcome.PASS), v(Outcome.UNREACHABLE)]) == 3
    assert exit_code([v(Outcome.UNREACHABLE), v(Outcome.FAIL)]) == 1


# -- DNS --------------------------------------------------------------------------------------------

def test_cname_chain():
    good = Chain("h.test", (INGRESS,), ("20.1.2.3",), Status.ANSWER)
    assert judge_cname("h.test", good, INGRESS).outcome is Outcome.PASS
    assert judge_cname("h.test", good, None).outcome is Outcome.PASS
    wrong = judge_cname("h.test", Chain("h.test", ("old.azurecontainerapps.io",), ("1.2.3.4",), Status.ANSWER), INGRESS)
    assert wrong.outcome is Outcome.FAIL and INGRESS in wrong.fix
    a_only = judge_cname("h.test", Chain("h.test", (), ("1.2.3.4",), Status.ANSWER), INGRESS)
    assert a_only.outcome is Outcome.FAIL and "A 1.2.3.4" in a_only.summary
    assert judge_cname("h.test", Chain("h.test", (), (), Status.NXDOMAIN), INGRESS).outcome is Outcome.FAIL
    assert judge_cname("h.test", Chain("h.test", (), (), Status.TIMEOUT), INGRESS).outcome is Outcome.UNREACHABLE


def txt(*values: str, status: Status = Status.ANSWER) -> Reply:
    return Reply(SERVER, "x.h.test", "TXT", status, records=tuple((v.encode(),) for v in values))


def test_asuid():
    assert judge_asuid("h.test", txt("ABC"), "ABC").outcome is Outcome.PASS
    assert judge_asuid("h.test", txt("ABC"), None).outcome is Outcome.PASS
    assert judge_asuid("h.test", txt("ABD"), "ABC").outcome is Outcome.FAIL
    missing = judge_asuid("h.test", txt(status=Status.NXDOMAIN), "ABC")
    assert missing.outcome is Outcome.FAIL and "asuid.h.test" in missing.summary
    assert judge_asuid("h.test", txt(status=Status.TIMEOUT), "ABC").outcome is Outcome.UNREACHABLE


def test_azaiverify_counts_only_while_verifying():
    code = "azv-0123456789abcdef"
    assert judge_azaiverify("h.test", txt(code), "verifying", code).outcome is Outcome.PASS
    wrong = judge_azaiverify("h.test", txt(code + " "), "verifying", code)
    assert wrong.outcome is Outcome.FAIL and code not in wrong.summary + wrong.fix
    assert judge_azaiverify("h.test", txt(status=Status.NXDOMAIN), "registered", code).outcome is Outcome.SKIP
    assert judge_azaiverify("h.test", txt(code), None, None).outcome is Outcome.SKIP


# -- TLS --------------------------------------------------------------------------------------------

def test_wildcards_match_one_label_only():
    assert name_matches("liveness.contoso.com", "*.contoso.com")
    assert not name_matches("a.liveness.contoso.com", "*.contoso.com")
    assert not name_matches("contoso.com", "*.com")
    assert name_matches("Liveness.Contoso.com.", "liveness.contoso.com")


def tls(**changes) -> TlsObservation:
    base = dict(connected=True, names=("h.test",), issuer="CN=CA", not_before=NOW - timedelta(days=10),
                not_after=NOW + timedelta(days=60), chain_ok=True)
    return TlsObservation(**{**base, **changes})


def test_tls_verdicts():
    assert [v.outcome for v in judge_tls("h.test", tls(), NOW)] == [Outcome.PASS] * 3
    soon = judge_tls("h.test", tls(not_after=NOW + timedelta(days=5)), NOW)[2]
    assert soon.outcome is Outcome.WARN and soon.details["daysLeft"] == 5
    early = judge_tls("h.test", tls(not_before=NOW + timedelta(hours=2)), NOW)[2]
    assert early.outcome is Outcome.FAIL and "not valid before" in early.summary
    untrusted = judge_tls("h.test", tls(chain_ok=False, chain_error="self-signed certificate"), NOW)[1]
    assert untrusted.outcome is Outcome.FAIL and "self-signed" in untrusted.summary
    down = judge_tls("h.test", TlsObservation(connected=False, error="Connection refused"), NOW)
    assert [v.outcome for v in down] == [Outcome.UNREACHABLE]
    not_tls = judge_tls("h.test", TlsObservation(connected=False, reached=True, error="wrong version number"), NOW)
    assert [v.outcome for v in not_tls] == [Outcome.FAIL]
