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

    monkeypatch.setattr(config_command, "run_docs", refuse)  # the handler is bound when the parser is built
    assert main(["config", "docs"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "FaceAccountArgs.account_name" in err and len(err) <= 400


def _leaf_parsers(parser, path=()):
    """(command path, parser) of every command that runs a handler."""
    import argparse

    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
    if not subs:
        yield path, parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaf_parsers(child, (*path, name))


def test_one_cli_convention_handlers_shared_flags():
    """Every handler is `run` or `run_<subcommand>` of a package's command.py; --stack, --template and
    --json say the shared help of infra/cli_args.py wherever they appear."""
    from infra import cli_args
    from infra.cli import build_parser

    shared = {"--stack": cli_args.STACK_HELP, "--template": cli_args.TEMPLATE_HELP, "--json": cli_args.JSON_HELP}
    leaves = list(_leaf_parsers(build_parser()))
    assert len(leaves) >= 10
    for path, parser in leaves:
        handler = parser.get_default("handler")
        assert handler.__module__.endswith(".command"), (path, handler.__module__)
        assert handler.__name__ in ("run", f"run_{path[-1].replace('-', '_')}"), (path, handler.__name__)
        for action in parser._actions:  # noqa: SLF001
            for flag in set(action.option_strings) & set(shared):
                assert action.help.startswith(shared[flag]), (path, flag, action.help)
    assert "--format" not in dict(leaves)[("plan",)].format_help()


def test_plan_json_and_markdown_exclude_each_other_and_format_is_gone():
    both = run_cli("plan", "--stack", "dev", "--json", "--markdown")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr and "Traceback" not in both.stderr
    gone = run_cli("plan", "--stack", "dev", "--format", "json")
    assert gone.returncode == 2 and "unrecognized arguments: --format" in gone.stderr


def test_the_shared_seconds_type_names_the_flag_once():
    done = run_cli("dns", "wait", "--host", "a.example", "--timeout", "0.5")
    assert done.returncode == 2
    assert done.stderr.count("--timeout") == 1 and "received 0.5; expected 1 to 172800 seconds" in done.stderr
    done = run_cli("smoke", "--url", "https://a.example", "--timeout", "soon")
    assert done.returncode == 2 and "--timeout: received 'soon'; expected a number of seconds" in done.stderr
