"""infra/stack_outputs.py: a deployed stack's outputs and tags through Pulumi's Automation API.

A stand-in `pulumi` on PATH answers what the Automation API runs and logs every call, so the tests
see the exact CLI invocations without a Pulumi backend.
"""

from __future__ import annotations

import shutil

import pytest

from infra.errors import UserError
from infra.stack_outputs import AutomationStack, StackReadError, read_outputs

FAKE_PULUMI = """#!/bin/sh
[ "$1" = --non-interactive ] && shift
echo "$*" >> "${0%/*}/calls.log"
case "$*" in
  version) echo v3.205.0 ;;
  "stack output --json --stack dev") echo '{"lifecycle": "test", "verificationCode": "[secret]"}' ;;
  "stack output --json --show-secrets --stack dev") echo '{"lifecycle": "test", "verificationCode": "azv-1"}' ;;
  "stack tag ls --json --stack dev") echo '{"liveness:lifecycle": "test", "pulumi:project": "x"}' ;;
  "stack tag get liveness:faceLocation --stack dev") echo westeurope ;;
  *) echo "error: no stack named 'gone' found" >&2; exit 255 ;;
esac
"""


@pytest.fixture
def fake_cli(tmp_path, monkeypatch):
    fake = tmp_path / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    return lambda: (tmp_path / "calls.log").read_text().splitlines()


def test_outputs_with_secrets_decrypted(fake_cli):
    assert AutomationStack().outputs("dev") == {"lifecycle": "test", "verificationCode": "azv-1"}
    assert "stack output --json --show-secrets --stack dev" in fake_cli()
    assert not any("select" in call for call in fake_cli())  # the current stack is left alone


def test_masked_outputs_never_ask_for_secrets(fake_cli):
    """Teardown's read: no --show-secrets, so the stack's secrets provider is never needed."""
    assert AutomationStack().outputs("dev", secrets=False) == {"lifecycle": "test", "verificationCode": "[secret]"}
    assert fake_cli() == ["version", "stack output --json --stack dev"]


def test_tags_and_one_tag(fake_cli):
    reader = AutomationStack()
    assert reader.tags("dev") == {"liveness:lifecycle": "test", "pulumi:project": "x"}
    assert reader.tag("dev", "liveness:faceLocation") == "westeurope"
    assert reader.tag("gone", "liveness:faceLocation") is None
    assert fake_cli().count("version") == 1  # one workspace per reader


def test_a_failed_read_is_one_line_with_the_cli_s_reason(fake_cli):
    with pytest.raises(StackReadError, match=r"^the stack outputs cannot be read .*\(error: no stack named 'gone' found\)$"):
        AutomationStack().outputs("gone")
    with pytest.raises(UserError) as refused:
        read_outputs("gone", "pass --host instead")
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith("--stack gone: the stack outputs cannot be read")
    assert str(refused.value).endswith("or pass --host instead")


def test_without_the_cli_the_line_says_so(tmp_path, monkeypatch):
    if shutil.which("pulumi", path="/usr/bin:/bin"):
        pytest.skip("a Pulumi CLI is installed in /usr/bin")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match=r"^--stack dev: the Pulumi CLI \('pulumi'\) is not on PATH, so the stack "
                                        r"outputs cannot be read; install it and `pulumi login`, or use --url$"):
        read_outputs("dev", "use --url")
    assert AutomationStack().tag("dev", "liveness:lifecycle") is None
