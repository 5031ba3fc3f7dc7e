"""`liveness-infra smoke` against the loopback world: the happy path and each deliberate fault.

Each fault gets the verdict that names it (and its fix), the troubleshooting class and the exit
code; the checks the fault does not touch still pass.
"""

from __future__ import annotations

import ssl

import pytest

from tests.smoke.conftest import CODE, FACE_HOST, HOST, INGRESS, LOOPBACK, NO_ASUID_HOST, WRONG_CNAME_HOST
from tests.smoke.rig import face_like

pytestmark = [pytest.mark.proxy, pytest.mark.dns]

ROUTES = ("session/start", "session/attempt/end", "detectLiveness/singleModal",
          "detectLivenessWithVerify/singleModal")


def test_happy_path_passes_every_check(smoke, smoke_world):
    result = smoke(smoke_world.args())
    assert result.code == 0, result.out + result.err
    data = result.data
    assert data["exitCode"] == 0
    outcomes = {c["check"]: c["outcome"] for c in data["checks"]}
    for check in ("dns cname", "dns asuid", "tls name", "tls chain", "tls expiry", "http redirect",
                  "options preflight", "latency", *(f"route {r}" for r in ROUTES)):
        assert outcomes[check] == "pass", (check, data)
    assert [c["outcome"] for c in result.checks("refused route")] == ["pass"] * 3
    assert outcomes["dns azaiverify"] == "skip"  # --url: no registration state to compare with
    latency = result.checks("latency")[0]["details"]
    assert latency["probes"] == latency["answered"] == 5 and 0 < latency["p50_ms"] <= latency["p95_ms"]
    # Every liveness route reached the stand-in through nginx; the refused ones never did.
    seen = {r.request_line.split(b" ")[1].decode() for r in smoke_world.standin.records}
    assert {f"/face/v1.2/{r}" for r in ROUTES} <= seen
    assert not any("sessions" in s or s.endswith("/detect") for s in seen)
    # Progress on stderr, one line per step.
    assert "smoke: TLS on 127.0.0.1" in result.err and "smoke: latency: 5 probes" in result.err


def test_text_output_shows_each_check_and_the_result_line(smoke, smoke_world):
    argv = [a for a in smoke_world.args() if a != "--json"]
    result = smoke(argv)
    assert result.code == 0
    assert result.out.startswith(f"smoke test of https://{HOST} via 127.0.0.1:{smoke_world.front.port}")
    assert "PASS    route session/start" in result.out
    assert result.out.rstrip().splitlines()[-1].endswith("; exit 0")


def failing_with(smoke, smoke_world, certificate, check):
    """Smoke against the front serving `certificate` exits 1: the result and its first `check`."""
    smoke_world.front.use(*certificate)
    result = smoke(smoke_world.args())
    assert result.code == 1
    return result, result.checks(check)[0]


def test_wrong_certificate(smoke, smoke_world):
    result, name = failing_with(smoke, smoke_world, smoke_world.wrong_name, "tls name")
    assert name["outcome"] == "fail" and "other.contoso.test" in name["summary"]
    assert name["failureClass"] == "cannot connect" and "custom domain" in name["fix"]
    assert result.outcome("tls chain") == "pass"  # same CA: only the name is wrong
    assert result.outcome("https routes") == "skip"  # no client gets past a wrong certificate


def test_expired_certificate(smoke, smoke_world):
    result, expiry = failing_with(smoke, smoke_world, smoke_world.expired, "tls expiry")
    assert expiry["outcome"] == "fail" and "expired" in expiry["summary"] and "renew" in expiry["fix"]
    assert expiry["details"]["daysLeft"] < 0
    assert result.outcome("tls name") == "pass"
    assert result.outcome("tls chain") == "fail"  # the verifier refuses it too


def test_untrusted_certificate(smoke, smoke_world):
    result, chain = failing_with(smoke, smoke_world, smoke_world.untrusted, "tls chain")
    assert chain["outcome"] == "fail" and "smoke-rogue" in chain["summary"]
    assert result.outcome("tls name") == "pass"


def test_redirect_to_another_host_fails(smoke, smoke_world):
    """http:// answering 301 to https://<host>.attacker.example/ (a string-prefix check passed it)."""
    smoke_world.redirector.location_host = f"{HOST}.attacker.example"
    result = smoke(smoke_world.args())
    assert result.code == 1
    redirect = result.checks("http redirect")[0]
    assert redirect["outcome"] == "fail" and f"{HOST}.attacker.example" in redirect["summary"]
    assert result.outcome("route session/start") == "pass"  # the HTTPS side is healthy


def test_bad_certificate_does_not_hide_an_open_proxy(smoke, smoke_world):
    """Untrusted certificate and a proxy that forwards every route: both faults show in one run."""
    context = ssl.create_default_context(cafile=str(smoke_world.ca.cert_path))
    smoke_world.front.use(*smoke_world.untrusted)
    smoke_world.front.backend = (LOOPBACK, smoke_world.standin.port)
    smoke_world.front.backend_tls, smoke_world.front.backend_sni = context, FACE_HOST
    result = smoke(smoke_world.args())
    assert result.code == 1
    assert result.outcome("tls chain") == "fail"
    refused = result.checks("refused route")
    assert len(refused) == 3
    for check in refused:
        assert check["outcome"] == "fail" and check["failureClass"] == "exposure", result.out
        assert "certificate not trusted" in check["summary"] and check["details"]["certificateTrusted"] is False
    assert result.outcome("https routes") == "skip"  # the liveness routes still wait for a good certificate


def test_bad_certificate_with_a_sound_proxy_reports_the_refusals(smoke, smoke_world):
    smoke_world.front.use(*smoke_world.untrusted)
    result = smoke(smoke_world.args())
    assert result.code == 1  # the certificate alone fails the run
    assert [c["outcome"] for c in result.checks("refused route")] == ["pass"] * 3


def test_cname_to_the_wrong_target(smoke, smoke_world):
    result = smoke(smoke_world.args(WRONG_CNAME_HOST))
    assert result.code == 1
    cname = result.checks("dns cname")[0]
    assert cname["outcome"] == "fail"
    assert "other-app.env.azurecontainerapps.test" in cname["summary"] and INGRESS in cname["fix"]
    assert cname["failureClass"] == "cannot connect"
    assert result.outcome("dns asuid") == "pass"
    assert result.outcome("route session/start") == "pass"  # the HTTP side is healthy


def test_missing_asuid(smoke, smoke_world):
    result = smoke(smoke_world.args(NO_ASUID_HOST))
    assert result.code == 1
    asuid = result.checks("dns asuid")[0]
    assert asuid["outcome"] == "fail" and f"asuid.{NO_ASUID_HOST}" in asuid["summary"]
    assert "customDomainVerificationId" in asuid["fix"]
    assert result.outcome("dns cname") == "pass"


def test_refused_route_forwarded_by_a_misconfigured_proxy(smoke, smoke_world):
    """The front relays straight to Face: a proxy that forwards every route."""
    context = ssl.create_default_context(cafile=str(smoke_world.ca.cert_path))
    smoke_world.front.backend = (LOOPBACK, smoke_world.standin.port)
    smoke_world.front.backend_tls, smoke_world.front.backend_sni = context, FACE_HOST
    result = smoke(smoke_world.args(HOST, "--preflight", "refused"))
    assert result.code == 1, result.out
    for refused in result.checks("refused route"):
        assert refused["outcome"] == "fail", result.out
        assert refused["outcome"] == "fail" and refused["failureClass"] == "exposure"
        assert "forwarded to Face" in refused["summary"] and "proxy render" in refused["fix"]
    assert all(c["outcome"] == "pass" for c in result.checks("route ")), result.out
    # Without the proxy, OPTIONS reaches Face although the configuration refuses it.
    assert result.outcome("options preflight") == "fail"


def test_face_answering_403(smoke, smoke_world):
    smoke_world.standin.respond = face_like(forbidden=True)
    result = smoke(smoke_world.args())
    assert result.code == 1
    for route in result.checks("route "):
        assert route["outcome"] == "fail" and route["failureClass"] == "403"
        assert "Face answered 403" in route["summary"] and "registered" in route["fix"]
    assert all(c["outcome"] == "pass" for c in result.checks("refused route"))
    assert "troubleshooting: 403" in result.data["result"]


def test_preflight_expectation_is_compared(smoke, smoke_world):
    result = smoke(smoke_world.args(HOST, "--preflight", "allowed"))
    assert result.code == 1
    assert result.outcome("options preflight") == "fail"
    assert "405" in result.checks("options preflight")[0]["summary"]
    assert smoke(smoke_world.args(HOST, "--preflight", "refused")).code == 0


def test_nothing_listening_is_unreachable(smoke, smoke_world):
    from tests.dns.knot import free_port

    closed = free_port([LOOPBACK])
    argv = smoke_world.args()
    argv[argv.index("--resolve") + 1] = f"{HOST}:{LOOPBACK}:{closed}"
    result = smoke(argv)
    assert result.code == 3, result.out
    assert result.outcome("tls") == "unreachable"
    assert result.outcome("https routes") == "skip"
    assert result.outcome("dns cname") == "pass"


def test_stack_mode_compares_with_outputs_and_config(smoke, smoke_world):
    """--stack: expectations come from the outputs (fake reader) and the stack file; registration
    state verifying makes the azaiverify record count."""
    outputs = {"proxyHost": HOST, "ingressFqdn": INGRESS, "customDomainVerificationId":
               "0F3E5D7C9B1A2F4E6D8C0B2A4F6E8D0C2B4A6F8E0D2C4B6A8F0E2D4C6B8A0F2E",
               "registrationState": "verifying", "verificationCode": CODE, "faceEndpointHost": FACE_HOST}
    asked: list[str] = []

    def reader(stack: str) -> dict:
        asked.append(stack)
        return dict(outputs)

    argv = ["smoke", "--stack", "dev", *smoke_world.args()[3:]]
    argv.remove("--expect-target")
    argv.remove(INGRESS)
    result = smoke(argv, outputs_reader=reader)
    assert asked == ["dev"]
    assert result.code == 0, result.out + result.err
    assert result.outcome("dns azaiverify") == "pass"
    assert result.outcome("dns asuid") == "pass" and "verification id" in result.checks("dns asuid")[0]["summary"]
    assert CODE not in result.out + result.err  # the verification string is never printed

    outputs.update(verificationCode=CODE[:-1] + "X", customDomainVerificationId="A" * 64)
    result = smoke(argv, outputs_reader=reader)
    assert result.code == 1
    assert result.outcome("dns azaiverify") == "fail" and result.outcome("dns asuid") == "fail"


def test_plain_http_where_tls_is_expected_fails_not_unreachable(smoke, smoke_world):
    """Something answers on the HTTPS port but does not speak TLS (here: the redirector)."""
    argv = smoke_world.args()
    argv[argv.index("--resolve") + 1] = f"{HOST}:{LOOPBACK}:{smoke_world.redirector.port}"
    result = smoke(argv)
    assert result.code == 1
    tls = result.checks("tls")[0]
    assert tls["outcome"] == "fail" and "no TLS session" in tls["summary"]


def test_proxy_that_cannot_reach_the_private_endpoint(smoke, smoke_world, tmp_path):
    """A second proxy whose Face address has nothing listening: the routes get nginx's own 502."""
    from infra.proxy.runner import ProxyProcess, ServeOptions
    from tests.dns.knot import free_port
    from tests.smoke.conftest import PROXY_SETTINGS

    port, health, dead = free_port([LOOPBACK]), free_port([LOOPBACK]), free_port([LOOPBACK])
    options = ServeOptions(listen=f"{LOOPBACK}:{port}", health_listen=f"{LOOPBACK}:{health}",
                           face_address=f"{LOOPBACK}:{dead}", trusted_ca=str(smoke_world.ca.cert_path))
    with open(tmp_path / "nginx.log", "wb") as log, ProxyProcess(PROXY_SETTINGS, options, stdout=log, stderr=log):
        smoke_world.front.backend = (LOOPBACK, port)
        result = smoke(smoke_world.args(HOST, "--probes", "1"))
    assert result.code == 1
    for route in result.checks("route "):
        assert route["outcome"] == "fail" and route["failureClass"] == "cannot connect"
        assert "502" in route["summary"] and "private endpoint" in route["fix"]
    assert all(c["outcome"] == "pass" for c in result.checks("refused route"))
