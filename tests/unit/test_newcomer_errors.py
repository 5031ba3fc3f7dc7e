"""What a newcomer reads when something is wrong: values as they wrote them, the key actually at
fault, one line per mistake, no library chatter, and `--version`."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from infra.stackfiles import files as stackfile
from infra.cli import build_parser, installed_version, main
from infra.errors import ConfigError, names_list, shorten

DEV = (stackfile.STACKS_DIR / "Pulumi.dev.yaml").read_text()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "infra.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value, shown", [
    (None, "null"), (True, "true"), (False, "false"), (3, "3"), ("westeurope", "'westeurope'"),
    (["a", None], '["a", null]'), ({"k": True}, '{"k": true}'),
])
def test_values_print_as_written_not_as_python(value, shown):
    assert shorten(value) == shown
    assert f"received {shown};" in str(ConfigError("liveness:x", value, "y"))


def test_a_huge_number_still_prints_something():
    assert "too large" in shorten(10 ** 5000)


@pytest.mark.parametrize("body", [
    DEV.replace("config:", "configuration:", 1),
    "liveness:location: westeurope\nliveness:proxyHost: liveness.dev.contoso.com\n",
])
def test_a_stack_file_without_a_config_block_says_so(tmp_path, monkeypatch, capsys, body):
    (tmp_path / "Pulumi.mine.yaml").write_text(body)
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    assert main(["config", "check", "--stack", "mine"]) == 2
    err = capsys.readouterr().err
    assert "no 'config:' block" in err and "received null" not in err, err


def test_settings_not_indented_under_config_are_pointed_at(tmp_path, monkeypatch, capsys):
    """`config:` then the keys at column 0 (an editor that dropped the indentation): YAML reads
    an empty config block beside top-level keys; say that, not that a present key is missing."""
    body = "\n".join(line.strip() if line.startswith("  liveness:") else line for line in DEV.splitlines())
    (tmp_path / "Pulumi.mine.yaml").write_text(body + "\n")
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    assert main(["config", "check", "--stack", "mine"]) == 2
    err = capsys.readouterr().err
    assert "'config:' is empty" in err and "indent the stack's settings under config:" in err, err
    assert "received null" not in err and err.count("\n") == 1, err


def test_a_proxy_host_outside_the_zone_blames_the_proxy_host(tmp_path, monkeypatch, capsys):
    lines = [ln for ln in DEV.splitlines() if "liveness:proxyHost:" not in ln]
    lines.insert(lines.index("config:") + 1, "  liveness:proxyHost: liveness.other.example")
    (tmp_path / "Pulumi.mine.yaml").write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    assert main(["config", "check", "--stack", "mine"]) == 2
    err = capsys.readouterr().err
    assert "config key 'liveness:proxyHost': received 'liveness.other.example'" in err, err


def test_an_out_of_range_flag_is_one_line_naming_the_flag_once():
    result = run_cli("smoke", "--url", "https://liveness.example.test", "--probes", "0")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "usage:" not in result.stderr, result.stderr
    assert result.stderr.count("--probes") == 1, result.stderr


def test_the_known_stacks_list_stays_short(tmp_path, monkeypatch, capsys):
    for i in range(60):
        (tmp_path / f"Pulumi.team-{i:02d}-sandbox.yaml").write_text(DEV)
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    assert main(["config", "check", "--stack", "nope"]) == 2
    err = capsys.readouterr().err
    known = err.split("stacks known: ", 1)[1]
    assert len(known) < 160 and known.rstrip().endswith("more"), known
    assert names_list(["a", "b"]) == "a, b" and names_list([]) == "none"


def test_azure_identity_chatter_is_silenced():
    """Without credentials, DefaultAzureCredential logs a warning per credential it tried; the
    command's own one-line error is what the user should read."""
    from infra.logs.command import default_client

    default_client()
    for name in ("azure.identity", "azure.identity._credentials.default",
                 "azure.identity._credentials.managed_identity"):
        assert not logging.getLogger(name).isEnabledFor(logging.WARNING), name


def test_version_comes_from_the_package_metadata():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"liveness-infra {installed_version()}"
    assert installed_version()[0].isdigit()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
