"""`liveness-infra`: subcommands exist, user mistakes are one line and exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.cli", *args], capture_output=True, text=True, timeout=120)


def test_help_lists_every_subcommand():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("plan", "proxy", "dns", "support-request", "teardown", "config"):
        assert command in result.stdout


def test_unknown_stack_is_one_clear_line():
    result = run_cli("config", "check", "--stack", "nope")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "no stack file" in result.stderr and "stacks known:" in result.stderr


def test_config_check_reports_the_key_at_fault(tmp_path, monkeypatch, capsys):
    from infra.stackfiles import files as stackfile

    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  liveness:location: westeurope\n  liveness:proxyHost: liveness.contoso.com\n"
        "  liveness:dnsZoneName: contoso.com\n  liveness:appsSubnetPrefix: 10.40.0.0/29\n")
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    assert main(["config", "check", "--stack", "bad"]) == 2
    err = capsys.readouterr().err
    assert "liveness:appsSubnetPrefix" in err and "10.40.0.0/29" in err and "/27" in err


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "pr"])
def test_config_check_accepts_every_stack(stack, capsys):
    assert main(["config", "check", "--stack", stack]) == 0
    assert "configuration valid" in capsys.readouterr().out


def test_config_docs_prints_the_reference(capsys):
    assert main(["config", "docs"]) == 0
    assert "`liveness:proxyHost`" in capsys.readouterr().out


def test_a_component_refusing_its_args_is_one_line(monkeypatch, capsys):
    """Config validation should catch everything first; if a component still refuses, no traceback."""
    from components.args_errors import ComponentArgsError
    from infra.config import command as config_command

    def refuse(args):
        raise ComponentArgsError("FaceAccountArgs", "account_name", "x" * 500, "2-64 lower-case letters")

    monkeypatch.setattr(config_command, "_docs", refuse)  # the handler is bound when the parser is built
    assert main(["config", "docs"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "FaceAccountArgs.account_name" in err and len(err) <= 400
