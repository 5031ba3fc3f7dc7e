"""`liveness-infra support-request`: the ticket text for Microsoft's step 1, from the stack files.

Lives beside the dns tests because it is the other half of the registration runbook
(docs/dns-verification.md); it needs no DNS server.
"""

from __future__ import annotations

import pytest

from components.proxy_routes import LIVENESS_ROUTES
from infra import cli
from infra.dns import support as support_cmd
from infra.config.loader import load_stack_settings

SUB = "0f0e0d0c-0b0a-4909-8807-060504030201"


def run(capsys, *argv: str):
    capsys.readouterr()
    code = cli.main(["support-request", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def no_az(monkeypatch, tmp_path):
    """No Azure CLI unless a test provides a stand-in."""
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")


def test_ticket_carries_the_stack_facts(capsys):
    code, out, err = run(capsys, "--stack", "staging", "--subscription-id", SUB.upper())
    assert code == 0
    s = load_stack_settings("staging")
    assert support_cmd.SUMMARY in out
    assert "Cognitive Services - Face API" in out
    assert "Problem type:                  Security" in out and "Virtual Network" in out
    assert "Email" in out
    assert f"Reverse proxy hostname:  {s.proxy.host}" in out
    assert (f"/subscriptions/{SUB}/resourceGroups/{s.resource_group_name}/providers/"
            f"Microsoft.CognitiveServices/accounts/{s.face.account_name}") in out
    assert f"Region:                  {s.location}" in out
    for route in LIVENESS_ROUTES:
        assert route.replace("{version}", "[version]") in out
    assert out.count("[ ]") == 5
    assert f"azaiverify.{s.proxy.host}" in out
    assert "an Azure AI services resource" in out  # staging uses kind AIServices
    assert "<subscription-id>" not in out and "not known offline" not in err


def test_without_subscription_a_placeholder_is_called_out(capsys):
    code, out, err = run(capsys, "--stack", "dev")
    assert code == 0
    assert "/subscriptions/<subscription-id>/resourceGroups/" in out
    assert "not known offline" in err and "--subscription-id" in err


def test_subscription_from_a_signed_in_azure_cli(capsys, tmp_path):
    az = tmp_path / "az"
    az.write_text(f'#!/bin/sh\n[ "$*" = "account show --query id --output tsv" ] || exit 9\necho {SUB}\n')
    az.chmod(0o755)
    code, out, _ = run(capsys, "--stack", "dev")
    assert code == 0 and f"/subscriptions/{SUB}/" in out


def test_a_failing_azure_cli_falls_back_to_the_placeholder(capsys, tmp_path):
    az = tmp_path / "az"
    az.write_text("#!/bin/sh\necho 'Please run az login' >&2\nexit 1\n")
    az.chmod(0o755)
    code, out, _ = run(capsys, "--stack", "dev")
    assert code == 0 and "<subscription-id>" in out


def test_registered_stack_gets_a_note(capsys):
    code, _, err = run(capsys, "--stack", "prod", "--subscription-id", SUB)
    assert code == 0 and "already registered" in err


def test_justification_is_included(capsys):
    _, out, _ = run(capsys, "--stack", "dev", "--justification", "Policy SEC-12 forbids public endpoints")
    assert "Policy SEC-12 forbids public endpoints" in out


@pytest.mark.parametrize("argv, words", [
    (["--stack", "dev", "--subscription-id", "not-a-guid"], "--subscription-id: received 'not-a-guid'"),
    (["--stack", "no-such-stack"], "no stack file"),
])
def test_mistakes_are_one_line_exit_2(capsys, argv, words):
    code, _, err = run(capsys, *argv)
    assert code == 2 and words in err and "Traceback" not in err


def test_cli_lists_dns_and_support_request(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "dns" in out and "support-request" in out


@pytest.mark.parametrize("mode", ["client", "account"])
def test_ticket_asks_which_host_header_the_registration_expects(mode):
    s = load_stack_settings("staging")
    facts = support_cmd.TicketFacts(**{**support_cmd.facts_from_settings(s).__dict__, "upstream_host": mode})
    text = support_cmd.render_ticket(facts, SUB)
    assert "Which Host does the registration expect" in text
    assert f"({s.proxy.host}) or the account's ({s.face.endpoint_host})" in text
    sent = s.proxy.host if mode == "client" else s.face.endpoint_host
    assert f"as Host it currently sends {'the client' if mode == 'client' else 'the account'}" in text
    assert sent in text.split("as Host it currently sends", 1)[1].splitlines()[0]
    notes = " ".join(support_cmd.checklist_notes(facts, SUB))
    assert "pulumi config set liveness:proxyUpstreamHost account --stack staging" in notes
