"""Bad flags and stack files through the CLI: one line, exit 2, and the same reading in every command."""

from __future__ import annotations

import socket

import pytest

from infra.stackfiles import files as stackfile
from infra.lifecycle import ephemeral
from infra.cli import main

GOOD = ("config:\n  liveness:lifecycle: test\n  liveness:location: westeurope\n"
        "  liveness:proxyHost: liveness.dev.contoso.com\n  liveness:dnsZoneName: dev.contoso.com\n")


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("content", [
    GOOD.encode() + b"  liveness:tags: {team: caf\xe9}\n",
    GOOD.encode() + b"  liveness:proxyHost: other.dev.contoso.com\n",
    GOOD.encode() + b"  liveness:tags: {a: [b}\n",
    GOOD.encode() + b"  liveness:faceCustomSubdomain: " + b"a" * 64 + b"\n",
])
def test_config_check_and_plan_refuse_with_the_same_line(content, tmp_path, monkeypatch, capsys):
    (tmp_path / "Pulumi.bad.yaml").write_bytes(content)
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    assert main(["config", "check", "--stack", "bad"]) == 2
    check = one_error_line(capsys).split(": error: ", 1)[1]
    assert main(["plan", "--stack", "bad"]) == 2
    plan = one_error_line(capsys).split(": error: ", 1)[1]
    assert check == plan


def test_plan_base_empty_is_refused(capsys):
    assert main(["plan", "--stack", "dev", "--base", ""]) == 2
    assert "--base" in one_error_line(capsys)


def test_support_request_does_not_mix_two_stacks(capsys):
    assert main(["support-request", "--stack", "prod", "--template", "dev", "--subscription-id",
                 "00000000-0000-0000-0000-000000000000"]) == 2
    assert "--template" in one_error_line(capsys)


def test_pr_stack_names_the_deployed_account(monkeypatch, capsys):
    deployed = "/subscriptions/x/resourceGroups/rg-fl-pr-12/providers/Microsoft.CognitiveServices/accounts/fl-pr-12-face-r4242"
    monkeypatch.setattr(ephemeral, "read_tag", lambda stack, name: deployed if stack == "pr-12" else None)
    assert main(["proxy", "render", "--stack", "pr-12"]) == 0
    assert "fl-pr-12-face-r4242.cognitiveservices.azure.com" in capsys.readouterr().out
    assert main(["support-request", "--stack", "pr-12", "--subscription-id", "00000000-0000-0000-0000-000000000000"]) == 0
    assert "/accounts/fl-pr-12-face-r4242" in capsys.readouterr().out


def test_pr_stack_without_the_recorded_account_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(ephemeral, "read_tag", lambda stack, name: None)
    assert main(["proxy", "render", "--stack", "pr-12"]) == 2
    assert "liveness:faceAccountId" in one_error_line(capsys)


def test_proxy_serve_on_a_busy_port_is_one_line(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["proxy", "serve", "--stack", "dev", "--listen", f"127.0.0.1:{port}",
                     "--health-listen", "127.0.0.1:1", "--face-address", "127.0.0.1:9"]) == 2
    err = one_error_line(capsys)
    assert "--listen" in err and "already in use" in err


def test_output_into_a_closed_pipe_is_no_traceback():
    """`liveness-infra config check --stack dev | head -1` closed the pipe: no traceback."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "infra.cli", "config", "check", "--stack", "dev"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # before the command has written anything (it is still importing)
    _, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err and proc.returncode == 141
