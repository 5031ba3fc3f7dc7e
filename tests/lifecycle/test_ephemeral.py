"""Ephemeral pr-<N> stacks: unique names per pull request, config from the template, the sweeper's pick."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from infra.lifecycle import ephemeral
from infra.config.loader import load_stack_settings, parse_settings
from infra.errors import UserError
from infra.config.schema import NAMESPACE
from infra.stackfiles.files import namespaced, read_stack_config
from infra.stackfiles.names import config_template, pr_number, pr_stack_name
from tests.lifecycle.tools import ROOT

PRS = [1, 2, 9, 10, 11, 12, 99, 100, 123, 1000, 4711, 99999, 123456, 999999999]
SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])$")


def settings_for(number: int, **extra):
    if not extra:
        return load_stack_settings(pr_stack_name(number), "pr")
    raw = {**namespaced(read_stack_config("pr"), NAMESPACE), **extra}
    return parse_settings(pr_stack_name(number), raw, provider_location=None)


def test_ephemeral_names_are_unique_per_pull_request():
    all_settings = [settings_for(n) for n in PRS]
    for field in ("account_name", "custom_subdomain"):
        values = [getattr(s.face, field) for s in all_settings]
        assert len(set(values)) == len(values), field
        assert all(SUBDOMAIN.match(v) and len(v) <= 64 for v in values), values
    for values in ([s.resource_group_name for s in all_settings], [s.proxy.host for s in all_settings]):
        assert len(set(values)) == len(values), values
    for n, s in zip(PRS, all_settings):
        assert s.lifecycle == "ephemeral" and s.may_tear_down and not s.protect
        assert f"pr-{n}" in s.proxy.host


def test_a_new_instance_suffix_gives_a_new_account_name():
    """A stuck soft-deleted account of an earlier environment never blocks the next one."""
    first = settings_for(123, instanceSuffix="r1001")
    again = settings_for(123, instanceSuffix="r2002")
    assert first.face.account_name != again.face.account_name
    assert first.face.account_name.endswith("r1001") and again.face.account_name.endswith("r2002")
    assert first.resource_group_name == again.resource_group_name


def test_the_workflow_suffix_is_a_valid_config_value():
    # preview-env.yml sets liveness:instanceSuffix to "r${GITHUB_RUN_ID}"; run ids are up to ~11 digits.
    s = settings_for(999999999, instanceSuffix="r" + "9" * 12)
    assert SUBDOMAIN.match(s.face.account_name) and len(s.face.account_name) <= 64


def test_pr_stack_names_round_trip_and_reject_nonsense():
    assert pr_stack_name(42) == "pr-42" and pr_number("pr-42") == 42
    for bad in ("pr-0", "pr-042", "pr-", "pr-1a", "dev", "xpr-1", "pr-1234567890"):
        assert pr_number(bad) is None, bad
    wrong: Any  # the runtime check is what is tested: these values defy the annotation
    for wrong in (0, -3, True, "7"):
        with pytest.raises(UserError):
            pr_stack_name(wrong)


def test_config_source_of_a_stack():
    assert config_template("prod") is None
    assert config_template("pr-5") == "pr"
    assert config_template("pr-5", "dev") == "dev"
    assert config_template("qa") is None  # the stack-file reader then names the missing file
    for bad in ("../prod", "a/b", "", "-x"):
        with pytest.raises(UserError, match="expected a stack name"):
            config_template(bad)


NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
LISTING = [
    {"name": "dev", "lastUpdate": "2020-01-01T00:00:00.000Z"},
    {"name": "pr-1", "lastUpdate": "2026-11-18T12:00:00.000Z"},  # 4 days
    {"name": "pr-2", "lastUpdate": "2026-11-22T09:00:00.000Z"},  # 3 hours
    {"name": "org/face-liveness-isolation/pr-3", "lastUpdate": "2026-11-01T00:00:00Z"},
    {"name": "pr-4"},  # created, never updated
    {"name": "pr-5", "lastUpdate": "not a time"},
    {"name": "pr-6", "lastUpdate": "2026-11-19T11:59:00+00:00"},  # just over 72 h
    {"name": "pr-7", "lastUpdate": "2026-11-19T12:01:00"},  # just under 72 h, no zone: UTC
]


def test_expired_pr_stacks_are_those_older_than_the_ttl():
    assert ephemeral.expired_pr_stacks(LISTING, NOW, timedelta(hours=72)) == ["pr-1", "pr-3", "pr-4", "pr-5", "pr-6"]
    assert ephemeral.expired_pr_stacks(LISTING, NOW, timedelta(hours=1)) == ["pr-1", "pr-2", "pr-3", "pr-4", "pr-5", "pr-6", "pr-7"]


def test_the_sweeper_helper_reads_pulumi_stack_ls_json():
    def run(*args, stdin):
        return subprocess.run([sys.executable, "-m", "infra.lifecycle.ephemeral", *args], input=stdin, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    old = (datetime.now(timezone.utc) - timedelta(days=10)).isoformat()
    new = datetime.now(timezone.utc).isoformat()
    done = run("expired", "--ttl-hours", "48", stdin=json.dumps([{"name": "pr-8", "lastUpdate": old}, {"name": "pr-9", "lastUpdate": new}]))
    assert done.returncode == 0 and json.loads(done.stdout) == ["pr-8"]
    done = run("expired", stdin="[]")
    assert done.returncode == 0 and json.loads(done.stdout) == []
    done = run("expired", stdin="oops")
    assert done.returncode == 2 and "expected the JSON of `pulumi stack ls --json`" in done.stderr
    done = run("expired", "--ttl-hours", "0", stdin="[]")
    assert done.returncode == 2 and "--ttl-hours: received 0.0" in done.stderr
    done = run("stack-name", "31", stdin="")
    assert done.returncode == 0 and done.stdout == "pr-31\n"


def test_stack_tags_record_the_account_with_the_runner_suffix(tmp_path, monkeypatch):
    """preview-env.yml tags the stack before `up`; the id must carry the suffix the run set."""
    import infra.stackfiles.files as stackfile

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    template = (ROOT / "stacks" / "Pulumi.pr.yaml").read_text()
    (stacks / "Pulumi.pr.yaml").write_text(template)
    # What `pulumi config set liveness:instanceSuffix r4242` leaves in the runner's copy.
    (stacks / "Pulumi.pr-7.yaml").write_text(template + "  liveness:instanceSuffix: r4242\n")
    monkeypatch.setattr(stackfile, "STACKS_DIR", stacks)
    sub = "3F2A6C1E-0B7D-4C55-9A1E-7D6B5C4A3F21"
    tags = ephemeral.stack_tags("pr-7", sub)
    settings = load_stack_settings("pr-7")
    assert settings.face.account_name.endswith("-r4242")
    assert tags == {
        "liveness:lifecycle": "ephemeral",
        "liveness:faceAccountId": f"/subscriptions/{sub.lower()}/resourceGroups/{settings.resource_group_name}"
                                  f"/providers/Microsoft.CognitiveServices/accounts/{settings.face.account_name}",
        "liveness:faceLocation": settings.location,
    }
    with pytest.raises(UserError, match="--subscription-id: received 'nope'"):
        ephemeral.stack_tags("pr-7", "nope")


def test_stack_tags_command_prints_name_value_lines():
    done = subprocess.run([sys.executable, "-m", "infra.lifecycle.ephemeral", "stack-tags", "--stack", "pr-31",
                           "--subscription-id", "3f2a6c1e-0b7d-4c55-9a1e-7d6b5c4a3f21"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["liveness:lifecycle"] == "ephemeral"
    assert lines["liveness:faceAccountId"].endswith("/accounts/" + load_stack_settings("pr-31", "pr").face.account_name)
