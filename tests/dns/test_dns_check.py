"""`liveness-infra dns check` against real Knot DNS servers on loopback (see conftest.py)."""

from __future__ import annotations

import io
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.dns.conftest import ASUID, INGRESS, NS1, NS2, NS3, PARENT, SILENT

pytestmark = pytest.mark.dns


@pytest.fixture
def check(world, cli, monkeypatch):
    """`dns check --host HOST` with discovery from the loopback parent; the code via the env var."""
    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)

    def run(host: str, *extra: str, discovery: bool = True):
        public = "--public-resolver" in extra
        argv = ["dns", "check", "--host", host, "--json",
                *(world.discovery(no_public=not public) if discovery else []), *extra]
        result = cli(*argv)
        assert world.code not in result.out + result.err, "the verification code must never be printed"
        return result

    return run


def test_correct_record_on_every_authoritative_server(check, world):
    r = check("ok.contoso.test", "--expect-target", INGRESS, "--asuid", ASUID)
    assert r.code == 0, r.out
    data = r.data
    assert data["verdict"] == "live" and data["zone"] == "contoso.test"
    assert {(s["name"], s["address"], s["state"], s["role"]) for s in data["servers"]} == {
        ("ns1.contoso.test", NS1, "ok", "authoritative"), ("ns2.contoso.test", NS2, "ok", "authoritative")}
    levels = {(f["check"], f["level"]) for f in data["findings"]}
    assert ("delegation", "ok") in levels and ("proxy host", "ok") in levels and ("asuid", "ok") in levels
    assert not [f for f in data["findings"] if f["level"] == "error"], data["findings"]


def test_text_output_names_each_server(world, cli, monkeypatch):
    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)
    r = cli("dns", "check", "--host", "ok.contoso.test", *world.discovery())
    assert r.code == 0
    assert "ns1.contoso.test" in r.out and "ns2.contoso.test" in r.out and "LIVE" in r.out
    assert world.code not in r.out


def test_explicit_nameservers_are_asked_exactly(check, world):
    r = check("ok.contoso.test", "--nameserver", world.at(NS2), discovery=False)
    assert r.code == 0
    assert [(s["address"], s["role"]) for s in r.data["servers"]] == [(NS2, "nameserver")]
    assert r.data["zone"] is None  # no discovery with --nameserver


def test_wrong_value(check):
    r = check("wrong.contoso.test")
    assert r.code == 1
    for server in r.data["servers"]:
        assert server["state"] == "wrong"
        assert any("differs at char 17" in n for n in server["notes"])


def test_near_misses_are_reported_as_such(check):
    quoted = check("quoted.contoso.test")
    assert quoted.code == 1
    assert any("has surrounding quotes" in n for n in quoted.data["servers"][0]["notes"])
    spaces = check("spaces.contoso.test")
    assert spaces.code == 1
    assert any("trailing whitespace" in n for n in spaces.data["servers"][0]["notes"])


def test_missing_record(check):
    r = check("missing.contoso.test")
    assert r.code == 1
    assert {s["state"] for s in r.data["servers"]} == {"missing"}
    assert all(s["summary"].startswith("NXDOMAIN") for s in r.data["servers"])


def test_name_without_txt_is_nodata(check):
    r = check("nodata.contoso.test")
    assert r.code == 1
    assert all(s["state"] == "missing" and s["summary"].startswith("NODATA") for s in r.data["servers"])


def test_missing_zone(check, world):
    r = check("liveness.nosuch.test")
    assert r.code == 1
    assert r.data["zone"] == "test"  # the closest zone that exists: the parent says NXDOMAIN
    assert [(s["address"], s["summary"].split(":")[0]) for s in r.data["servers"]] == [(PARENT, "NXDOMAIN")]
    assert any("closest enclosing zone is test: is the zone of liveness.nosuch.test delegated" in n
               for n in r.data["notes"])


def test_split_string_txt_is_joined(check):
    r = check("split.contoso.test")
    assert r.code == 0
    assert all(any("split into 2 strings" in n for n in s["notes"]) for s in r.data["servers"])


def test_extra_records_pass_with_a_warning(check, world):
    r = check("extra.contoso.test")
    assert r.code == 0
    assert all(any("1 other TXT record" in n for n in s["notes"]) for s in r.data["servers"])
    assert world.old_code not in r.out


def test_one_of_two_servers_stale(check):
    r = check("liveness.stale.test")
    assert r.code == 1
    assert r.server(NS1)["state"] == "ok"
    assert r.server(NS2)["state"] == "wrong"
    stale = [f for f in r.data["findings"] if f["message"].startswith("stale:")]
    assert len(stale) == 1 and "ns2.stale.test" in stale[0]["message"] and "serial 1" in stale[0]["message"]


def test_server_that_does_not_answer_is_bounded_and_exit_3(check, world):
    started = time.monotonic()
    r = check("ok.contoso.test", "--nameserver", world.at(NS1), "--nameserver", world.at(SILENT),
              "--query-timeout", "0.3", discovery=False)
    elapsed = time.monotonic() - started
    assert r.code == 3
    assert r.server(NS1)["state"] == "ok"
    assert r.server(SILENT)["state"] == "unreachable" and "timeout" in r.server(SILENT)["summary"]
    assert elapsed < 3.0, f"one 0.3 s timeout took {elapsed:.1f}s"


def test_discovered_server_that_does_not_answer(check):
    started = time.monotonic()
    r = check("liveness.slow.test")  # --query-timeout 1
    elapsed = time.monotonic() - started
    assert elapsed < 4.5, f"expected about two 1 s timeouts (discovery batch, record batch), took {elapsed:.1f}s"
    assert r.code == 3
    assert r.server(NS1)["state"] == "ok"
    assert r.server(SILENT)["state"] == "unreachable"


def test_wrong_answer_wins_over_unreachable(check, world):
    r = check("wrong.contoso.test", "--nameserver", world.at(NS1), "--nameserver", world.at(SILENT),
              "--query-timeout", "0.3", discovery=False)
    assert r.code == 1


def test_unreachable_resolver_means_exit_3(world, cli, monkeypatch):
    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)
    r = cli("dns", "check", "--host", "ok.contoso.test", "--json", "--resolver", world.at(SILENT),
            "--port", str(world.port), "--no-public", "--query-timeout", "0.2")
    assert r.code == 3
    assert r.data["servers"] == [] and r.data["verdict"] == "unreachable"


def test_servfail(check):
    r = check("liveness.broken.test")
    assert r.code == 1
    assert r.data["servers"][0]["summary"].startswith("SERVFAIL")


def test_refused_is_lame_delegation(check):
    r = check("liveness.lame.test")
    assert r.code == 1
    assert r.server(NS1)["state"] == "ok"
    assert r.server(NS3)["summary"].startswith("REFUSED") and "lame delegation" in r.server(NS3)["summary"]
    assert any("lame delegation: ns3.lame.test" in f["message"] for f in r.data["findings"])


def test_refused_from_an_explicit_nameserver(check, world):
    r = check("liveness.lame.test", "--nameserver", world.at(NS3), discovery=False)
    assert r.code == 1
    assert r.data["servers"][0]["summary"].startswith("REFUSED")


def test_partial_delegation_is_named(check):
    r = check("liveness.partial.test")
    assert r.code == 0  # both servers serve the code; the delegation mismatch is a warning
    assert {s["name"] for s in r.data["servers"]} == {"ns1.partial.test", "ns2.partial.test"}
    assert any(f["level"] == "warning" and "partial delegation" in f["message"] for f in r.data["findings"])


def test_truncated_udp_reply_is_retried_over_tcp(check):
    r = check("big.contoso.test")
    assert r.code == 0
    assert {s["transport"] for s in r.data["servers"]} == {"tcp"}


def test_cname_chains(check):
    """Proxy host CNAME to the ingress, the Face host through privatelink across zones."""
    good = check("ok.contoso.test", "--expect-target", INGRESS,
                 "--face-host", "fl-dev-face.cognitiveservices.azure.com")
    face = [f for f in good.data["findings"] if f["check"] == "face private endpoint"]
    assert face[0]["level"] == "ok"
    assert ("fl-dev-face.cognitiveservices.azure.com -> fl-dev-face.privatelink.cognitiveservices.azure.com"
            " -> westeurope.prod.cognitive.test to 127.0.0.98") in face[0]["message"]

    bad = check("elsewhere.contoso.test", "--expect-target", INGRESS,
                "--face-host", "public-face.cognitiveservices.azure.com")
    assert bad.code == 0  # the azaiverify record itself is right
    host = [f for f in bad.data["findings"] if f["check"] == "proxy host"]
    assert host and all(f["level"] == "error" and "wrong-app" in f["message"] for f in host)
    face = [f for f in bad.data["findings"] if f["check"] == "face private endpoint"]
    assert face[0]["level"] == "error" and "does not go through" in face[0]["message"]


def test_cname_at_the_verification_name_is_noted(check):
    r = check("cnamed.contoso.test")
    assert r.code == 0
    assert all(any("CNAME to verify-target.contoso.test" in n for n in s["notes"]) for s in r.data["servers"])


def test_public_resolvers_are_asked_too(check, world):
    r = check("ok.contoso.test", "--public-resolver", world.at(NS2))
    roles = sorted((s["address"], s["role"]) for s in r.data["servers"])
    assert roles == [(NS1, "authoritative"), (NS2, "authoritative"), (NS2, "public resolver")]
    assert r.code == 0


def test_window_warning(check):
    r = check("ok.contoso.test", "--issued-at", "2020-01-01T00:00:00Z")
    # Every server serves the code, but Microsoft no longer checks it: not LIVE, exit 1.
    assert r.code == 1 and r.data["verdict"] == "window-closed"
    window = [f for f in r.data["findings"] if f["check"] == "48-hour window"]
    assert window[0]["level"] == "error" and "closed" in window[0]["message"]


# --- inputs ---------------------------------------------------------------------------------

def test_code_from_file_and_stdin(world, cli, tmp_path, monkeypatch):
    secret = tmp_path / "code.txt"
    secret.write_text(world.code + "\n")
    r = cli("dns", "check", "--host", "ok.contoso.test", "--verification-code-file", str(secret), *world.discovery())
    assert r.code == 0 and world.code not in r.out
    monkeypatch.setattr(sys, "stdin", io.StringIO(world.code + "\n"))
    r = cli("dns", "check", "--host", "ok.contoso.test", "--verification-code-file", "-", *world.discovery())
    assert r.code == 0


def test_code_on_the_command_line_warns(world, cli):
    r = cli("dns", "check", "--host", "ok.contoso.test", "--verification-code", world.code, *world.discovery())
    assert r.code == 0
    assert "shell history" in r.err and world.code not in r.out + r.err


@pytest.mark.parametrize("argv, words", [
    (["--host", "ok.contoso.test"], "--verification-code: no verification code given"),
    (["--host", "10.0.0.1", "--verification-code-file", "/nonexistent"], "--host: received the IP address"),
    (["--host", "ok.contoso.test", "--verification-code-file", "/nonexistent/code"], "--verification-code-file: cannot read"),
    (["--verification-code-file", "/dev/null"], "--host: no proxy host given"),
])
def test_user_mistakes_exit_2_with_one_line(world, cli, argv, words):
    r = cli("dns", "check", *argv, *world.discovery())
    assert r.code == 2
    assert words in r.err and "Traceback" not in r.err


def test_bad_nameserver_spec(world, cli, monkeypatch):
    monkeypatch.setenv("LIVENESS_VERIFICATION_CODE", world.code)
    r = cli("dns", "check", "--host", "ok.contoso.test", "--nameserver", "ns1.contoso.test")
    assert r.code == 2 and "--nameserver" in r.err and "not a host name" in r.err


def test_stack_without_pulumi_cli(world, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    r = cli("dns", "check", "--stack", "dev", *world.discovery())
    assert r.code == 2
    assert "Pulumi CLI ('pulumi') is not on PATH" in r.err and "--host" in r.err


def test_stack_outputs_fill_host_code_and_targets(world, cli, monkeypatch, tmp_path):
    """A stand-in `pulumi` prints the outputs the program exports; dns check uses them."""
    outputs = tmp_path / "outputs.json"
    # Issued an hour ago: the window is open (a future time is refused).
    issued = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    outputs.write_text(
        '{"proxyHost": "ok.contoso.test", "verificationCode": "%s", "ingressFqdn": "%s",'
        ' "customDomainVerificationId": "%s", "faceEndpointHost": "fl-dev-face.cognitiveservices.azure.com",'
        ' "verificationCodeIssuedAt": "%s"}' % (world.code, INGRESS, ASUID, issued))
    fake = tmp_path / "pulumi"
    # What the Automation API runs: `version`, then the outputs masked and with --show-secrets.
    fake.write_text('#!/bin/sh\ncase "$*" in\n  version) echo v3.205.0;;\n'
                    f'  *"stack output --json --stack dev"|*"stack output --json --show-secrets --stack dev") cat {outputs};;\n'
                    '  *) exit 7;;\nesac\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    r = cli("dns", "check", "--stack", "dev", "--json", *world.discovery())
    assert r.code == 0, r.out + r.err
    assert world.code not in r.out + r.err
    checks = {f["check"]: f["level"] for f in r.data["findings"]}
    assert checks["proxy host"] == "ok" and checks["asuid"] == "ok"
    assert checks["face private endpoint"] == "ok" and checks["48-hour window"] == "info"
    assert any("matches the environment's verification id" in f["message"] for f in r.data["findings"])


def test_help_lists_the_interface(cli):
    r = cli("dns", "check", "--help")
    assert r.code == 0
    for flag in ("--host", "--verification-code", "--verification-code-file", "--nameserver", "--json",
                 "--resolver", "--public-resolver", "--no-public", "--stack", "--query-timeout"):
        assert flag in r.out
    assert "--timeout" in cli("dns", "wait", "--help").out


def test_console_script_end_to_end(world):
    """The installed `liveness-infra` entry point, as a user runs it: exit code and output."""
    import os
    import shutil
    import subprocess

    exe = shutil.which("liveness-infra") or os.path.join(os.path.dirname(sys.executable), "liveness-infra")
    env = {**os.environ, "LIVENESS_VERIFICATION_CODE": world.code}
    base = [exe, "dns", "check", *world.discovery()]
    ok = subprocess.run([*base, "--host", "ok.contoso.test"], env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "LIVE" in ok.stdout and world.code not in ok.stdout + ok.stderr
    wrong = subprocess.run([*base, "--host", "wrong.contoso.test"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert wrong.returncode == 1 and "differs at char 17" in wrong.stdout
    mistake = subprocess.run([exe, "dns", "check", "--host", "ok.contoso.test", "--nameserver", "bogus"],
                             env=env, capture_output=True, text=True, timeout=60)
    assert mistake.returncode == 2 and mistake.stderr.count("\n") == 1 and "Traceback" not in mistake.stderr


def test_issued_at_in_the_future_is_refused(check):
    """A future --issued-at is refused (it once was accepted)."""
    r = check("ok.contoso.test", "--issued-at", "2999-01-01T00:00:00Z")
    assert r.code == 2 and "--issued-at" in r.err and "future" in r.err and len(r.err.strip().splitlines()) == 1


def test_window_closed_is_not_live_in_text(check):
    """A closed window is never LIVE (it once printed "window closed" and still exited 0)."""
    r = check("ok.contoso.test", "--issued-at", "2020-01-01T00:00:00Z")
    assert r.code == 1 and r.data["verdict"] != "live"
