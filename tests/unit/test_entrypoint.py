"""The Pulumi entry point: reads the runtime config, exports the outputs, no traceback on bad config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pulumi
import pytest
from pulumi.runtime import settings as runtime_settings

from infra import program
from infra.errors import ConfigError
from infra.plan.offline import _RecordingMocks, _RecordingMonitor, _reset_runtime

ROOT = Path(__file__).resolve().parents[2]
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
    mocks = _RecordingMocks()
    _reset_runtime()
    pulumi.runtime.set_mocks(mocks, project="face-liveness-isolation", stack="unit", preview=False,
                             monitor=_RecordingMonitor(mocks))
    pulumi.runtime.set_all_config(config, secret_keys)
    try:
        pulumi.runtime.mocks.test(program.main)()
        return dict(runtime_settings.get_root_resource().outputs)
    finally:
        _reset_runtime()


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
    env = {"PULUMI_CONFIG": '{"liveness:location": "westeurope", "liveness:proxyHost": "nope"}',
           "PATH": "/usr/bin:/bin"}
    code = ("import runpy, pulumi, infra.plan.offline as o; m=o._RecordingMocks(); "
            "pulumi.runtime.set_mocks(m, preview=False, monitor=o._RecordingMonitor(m)); "
            f"runpy.run_path({str(ROOT / 'infra')!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "liveness:proxyHost" in result.stderr and "'nope'" in result.stderr
