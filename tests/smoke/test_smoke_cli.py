"""`liveness-infra smoke` arguments: user mistakes end in one line and exit 2; --stack fills the target."""

from __future__ import annotations

import shutil

import pytest

from infra import cli
from infra.smoke.command import deployed_outputs, build_target

OUTPUTS = {"proxyHost": "liveness.dev.contoso.com", "ingressFqdn": "app.env.westeurope.azurecontainerapps.io",
           "customDomainVerificationId": "ABC123", "registrationState": "verifying",
           "verificationCode": "azv-secret-code", "faceEndpointHost": "fl-dev-face.cognitiveservices.azure.com"}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(["smoke", *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("argv, names", [
    (["--url", "http://liveness.contoso.com"], "--url"),
    (["--url", "https://liveness.contoso.com/face"], "--url"),
    (["--url", "https://10.0.0.1"], "--url"),
    (["--url", "https://liveness.contoso.com", "--resolve", "other.contoso.com:127.0.0.1"], "--resolve"),
    (["--url", "https://liveness.contoso.com", "--resolve", "liveness.contoso.com:not-an-ip:443"], "--resolve"),
    (["--url", "https://liveness.contoso.com", "--resolve", "liveness.contoso.com"], "--resolve"),
    (["--url", "https://liveness.contoso.com", "--ca-file", "/nonexistent/ca.pem"], "--ca-file"),
    (["--url", "https://liveness.contoso.com", "--api-version", "1.2/../x"], "--api-version"),
    (["--url", "https://liveness.contoso.com", "--session-api-version", "v1"], "--session-api-version"),
    (["--url", "https://liveness.contoso.com", "--nameserver", "ns1.contoso.com"], "--nameserver"),
    (["--url", "https://liveness.contoso.com", "--probes", "0"], "--probes"),
    (["--url", "https://liveness.contoso.com", "--probes", "101"], "--probes"),
    (["--url", "https://liveness.contoso.com", "--timeout", "600"], "--timeout"),
    (["--url", "https://liveness.contoso.com", "--stack", "dev"], "--stack"),
    (["--stack", "no-such-stack"], "--stack"),
])
def test_user_mistakes_are_one_line_and_exit_2(capsys, argv, names):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    last = err.strip().splitlines()[-1]
    assert names in last and len(last) <= 300 and "Traceback" not in err


def test_ca_file_without_a_certificate(capsys, tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    code, _, err = run(capsys, "--url", "https://liveness.contoso.com", "--ca-file", str(empty))
    assert code == 2 and "holds no PEM certificate" in err


def test_help_lists_smoke():
    assert "smoke" in cli.build_parser().format_help()


def test_stack_without_the_pulumi_cli_says_what_to_do(monkeypatch, tmp_path):
    if shutil.which("pulumi"):
        pytest.skip("the Pulumi CLI is installed here")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(cli.UserError, match=r"--stack dev: the Pulumi CLI \('pulumi'\) is not on PATH"):
        deployed_outputs("dev")


def parse(*argv: str):
    return cli.build_parser().parse_args(["smoke", *argv])


def test_stack_fills_the_target_from_outputs_and_config():
    target = build_target(parse("--stack", "dev", "--nameserver", "127.0.0.1"), lambda stack: dict(OUTPUTS))
    assert target.endpoint.host == "liveness.dev.contoso.com" and target.endpoint.port == 443
    assert target.ingress_fqdn == OUTPUTS["ingressFqdn"] and target.asuid == "ABC123"
    assert target.registration_state == "verifying" and target.verification_code == "azv-secret-code"
    assert target.face_endpoint == "https://fl-dev-face.cognitiveservices.azure.com"
    assert target.allow_preflight is False  # proxyAllowBrowserPreflight defaults to false
    assert target.url == "https://liveness.dev.contoso.com"


def test_flags_override_the_stack():
    args = parse("--stack", "dev", "--nameserver", "127.0.0.1", "--preflight", "allowed", "--expect-target",
                 "other.azurecontainerapps.io", "--resolve", "liveness.dev.contoso.com:[::1]:8443")
    target = build_target(args, lambda stack: dict(OUTPUTS))
    assert target.allow_preflight is True and target.ingress_fqdn == "other.azurecontainerapps.io"
    assert (target.endpoint.address, target.endpoint.port) == ("::1", 8443)
    assert target.url == "https://liveness.dev.contoso.com"


def test_url_alone_knows_only_what_the_flags_say():
    target = build_target(parse("--url", "https://Liveness.Contoso.com:8443", "--nameserver", "127.0.0.1"))
    assert (target.endpoint.host, target.endpoint.port) == ("liveness.contoso.com", 8443)
    assert target.ingress_fqdn is None and target.asuid is None and target.registration_state is None
    assert target.allow_preflight is None and target.url == "https://liveness.contoso.com:8443"


FAKE_PULUMI = """#!/bin/sh
echo "$@" >> "${0%/*}/calls.log"
case "$*" in
  version*) echo "v3.205.0";;
  *"stack output --json --show-secrets --stack dev"*) echo '{"ingressFqdn": "app.env.io", "verificationCode": "azv-1"}';;
  *"stack output --json --stack dev"*) echo '{"ingressFqdn": "app.env.io", "verificationCode": "[secret]"}';;
  *) echo "error: no stack named '$5' found" >&2; exit 255;;
esac
"""


def test_stack_outputs_come_through_the_automation_api(monkeypatch, tmp_path):
    """A stand-in `pulumi` executable: what the Automation API runs, and that secrets arrive decrypted."""
    fake = tmp_path / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert deployed_outputs("dev") == {"ingressFqdn": "app.env.io", "verificationCode": "azv-1"}
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert not any("select" in c for c in calls)  # the workspace's current stack is left alone
    with pytest.raises(cli.UserError, match=r"--stack gone: the stack outputs cannot be read.*no stack named"):
        deployed_outputs("gone")
