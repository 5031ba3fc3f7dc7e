"""The Pulumi entry point: reads the runtime config as `config check` reads the stack file, exports the
outputs, no traceback on bad config."""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import Stack

from infra import program
from infra.errors import ConfigError
from infra.config.loader import load_settings
from infra.errors import UserError
from infra.plan.offline import RecordingMocks, RecordingMonitor, reset_runtime
from infra.stackfiles.document import parse_stack_document
from tests.unit.stack_documents import HEAD, check, run_entrypoint

CONFIG = {
    "liveness:lifecycle": "test",
    "liveness:location": "westeurope",
    "liveness:proxyHost": "liveness.dev.contoso.com",
    "liveness:dnsZoneName": "dev.contoso.com",
    "liveness:registrationState": "verifying",
    "liveness:verificationCode": "code-from-support",
    "liveness:verificationCodeIssuedAt": "2026-11-20T09:30:00Z",
}


def _run_main(config, secret_keys):
    mocks = RecordingMocks()
    reset_runtime()
    pulumi.runtime.set_mocks(mocks, project="face-liveness-isolation", stack="unit", preview=False,
                             monitor=RecordingMonitor(mocks))
    pulumi.runtime.set_all_config(config, secret_keys)
    try:
        pulumi.runtime.mocks.test(program.main)()
        root = runtime_settings.get_root_resource()
        assert isinstance(root, Stack), root
        return dict(root.outputs)
    finally:
        reset_runtime()


def test_main_exports_outputs_and_keeps_the_code_secret():
    outputs = _run_main(CONFIG, ["liveness:verificationCode"])
    assert {"proxyHost", "ingressFqdn", "faceEndpointHost", "verificationCode", "dnsRecords"} <= set(outputs)
    code = outputs["verificationCode"]
    assert isinstance(code, pulumi.Output)
    from pulumi.runtime.sync_await import _sync_await

    assert _sync_await(code.is_secret()) is True


def test_main_refuses_a_plain_text_code():
    with pytest.raises(ConfigError, match="--secret"):
        _run_main(CONFIG, [])


def test_entrypoint_turns_config_errors_into_one_line():
    """`pulumi up` runs infra/__main__.py; a bad key must not print a traceback."""
    result = run_entrypoint({"liveness:location": "westeurope", "liveness:proxyHost": "nope"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "liveness:proxyHost" in result.stderr and "'nope'" in result.stderr


@pytest.mark.parametrize("spelling", [b"~", b"null", b"", b"Null", b"''"])
def test_null_means_unset(spelling):
    document = HEAD + b"  liveness:namePrefix: " + spelling + b"\n  liveness:resourceGroupName: " + spelling + b"\n"
    config, secure = parse_stack_document(document)
    checked = load_settings("unit", config, secure.__contains__)
    assert checked.name_prefix == "fl-unit" and checked.resource_group_name == "rg-fl-unit"


@pytest.mark.parametrize("extra", [
    b"  liveness:namePrefix: ~\n  liveness:tags: {created: 2026-11-20}\n  liveness:proxyAllowBrowserPreflight:\n",
    b"  liveness:proxyAllowBrowserPreflight: yes\n",
])
def test_the_program_under_pulumi_up_reads_the_file_as_config_check_does(extra):
    document = HEAD + extra
    config, secure = parse_stack_document(document)
    assert not secure
    try:
        check(document)
        expected = None
    except UserError as exc:
        expected = str(exc)
    result = run_entrypoint(config)
    assert "Traceback" not in result.stderr
    if expected is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0 and expected in result.stderr
