"""`make up STACK=x` (scripts/pulumi-stack.sh): validates offline first, then drives the Pulumi CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "pulumi-stack.sh"


@pytest.fixture
def fake_pulumi(tmp_path):
    """A `pulumi` on PATH that records its arguments."""
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "pulumi"
    exe.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    exe.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    return env, log


def run(env, *args):
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def test_up_selects_the_stack_then_runs_pulumi_up(fake_pulumi):
    env, log = fake_pulumi
    result = run(env, "up", "dev")
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == ["stack select --create dev", "up --stack dev"]


def test_preview_runs_with_diff(fake_pulumi):
    env, log = fake_pulumi
    assert run(env, "preview", "staging").returncode == 0
    assert log.read_text().splitlines()[-1] == "preview --diff --stack staging"


def test_bad_stack_never_reaches_pulumi(fake_pulumi):
    env, log = fake_pulumi
    result = run(env, "up", "no-such-stack")
    assert result.returncode == 2
    assert "no stack file" in result.stderr
    assert not log.exists()


def test_missing_cli_is_a_clear_message():
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    if any((Path(d) / "pulumi").exists() for d in env["PATH"].split(":")):
        pytest.skip("a real pulumi is installed in /usr/bin or /bin")
    result = run(env, "up", "dev")
    assert result.returncode == 2
    assert "Pulumi CLI is not on PATH" in result.stderr
