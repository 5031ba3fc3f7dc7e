"""Stack documents as the unit tests write them: a minimal valid head, reading one as `config check`
does, asserting a refusal is one bounded line, and running the Pulumi entry point as `pulumi up` does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.config.loader import load_settings, parse_settings
from infra.errors import MAX_MESSAGE, UserError
from infra.stackfiles.document import parse_stack_document

ROOT = Path(__file__).resolve().parents[2]
HEAD = (b"config:\n  liveness:lifecycle: test\n  liveness:location: westeurope\n"
        b"  liveness:proxyHost: liveness.dev.contoso.com\n  liveness:dnsZoneName: dev.contoso.com\n")


# The fewest native config values (namespace stripped) a stack needs, for parse() to override.
BASE = {
    "location": "westeurope",
    "proxyHost": "liveness.dev.contoso.com",
    "dnsZoneName": "dev.contoso.com",
    "lifecycle": "test",
}


def parse(**overrides):
    """Settings from BASE with `overrides` (a None value leaves the key unset)."""
    raw = {**BASE, **overrides}
    return parse_settings("unit", {k: v for k, v in raw.items() if v is not None})


def check(document: bytes, stack: str = "unit"):
    config, secure = parse_stack_document(document, "stacks/Pulumi.unit.yaml")
    return load_settings(stack, config, secure.__contains__)


def refused(document: bytes, fragment: str, stack: str = "unit") -> str:
    with pytest.raises(UserError) as info:
        check(document, stack)
    message = str(info.value)
    assert fragment in message and "\n" not in message and len(message) <= MAX_MESSAGE, message
    return message


def run_entrypoint(config: dict[str, str]) -> subprocess.CompletedProcess:
    """infra/__main__.py as `pulumi up` runs it: config only through PULUMI_CONFIG (strings), under mocks."""
    code = ("import runpy, pulumi, infra.plan.offline as o; m=o.RecordingMocks(); "
            "pulumi.runtime.set_mocks(m, preview=False, monitor=o.RecordingMonitor(m)); "
            f"runpy.run_path({str(ROOT / 'infra')!r}, run_name='__main__')")
    env = {"PULUMI_CONFIG": json.dumps(config), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
