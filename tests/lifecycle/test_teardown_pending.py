"""Teardown while Azure still holds the apps subnet (microsoft/azure-container-apps#974).

Driven with the fake Pulumi CLI runner (tests/lifecycle/fakes.py), which answers each `pulumi destroy`
with the output the real CLI prints when ARM refuses the subnet and VNet deletes with
`InUseSubnetCannotBeDeleted`: no Azure and no Pulumi backend are touched. The sleeps are recorded,
not slept; the clock is advanced by them.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from infra.lifecycle.destroy_retry import (EXIT_PENDING, FIRST_PAUSE_SECONDS, MAX_PAUSE_SECONDS, TAG_TEARDOWN_PENDING,
                                           DestroyOutcome, destroy_with_retry, held_resources, pending_report)
from infra.lifecycle.pulumi_cli import TEE
from infra.lifecycle.pulumi_cli import CommandResult
from tests.lifecycle.test_teardown import PR, World
from tests.lifecycle.tools import ROOT

SUBNET = ("/subscriptions/3f2a6c1e-0b7d-4c55-9a1e-7d6b5c4a3f21/resourceGroups/rg-fl-pr-123"
          "/providers/Microsoft.Network/virtualNetworks/vnet-fl-pr-123")
# ARM's refusal, as the provider passes it on (the subnet's service association link holds it).
IN_USE = (f'Status=400 Code="InUseSubnetCannotBeDeleted" Message="Subnet snet-apps is in use by '
          f'{SUBNET}/subnets/snet-apps/serviceAssociationLinks/legionservicelink and cannot be deleted.')
# What `pulumi destroy` prints when ARM refuses the subnet and the VNet (abridged; the shape of the
# Diagnostics section is the CLI's: a "type (name):" heading, then the provider's error).
HELD = f"""Destroying (pr-123):
 -   azure-native:network:Subnet          network-apps-subnet  deleting failed  1 error
 -   azure-native:network:VirtualNetwork  network-vnet         deleting failed  1 error
Diagnostics:
  azure-native:network:Subnet (network-apps-subnet):
    error: deleting failed: {IN_USE} In order to delete the subnet, delete all the resources within the subnet. \
See aka.ms/deletesubnet."

  azure-native:network:VirtualNetwork (network-vnet):
    error: deleting failed: {IN_USE}"

  pulumi:pulumi:Stack (face-liveness-isolation-pr-123):
    error: update failed
"""
HELD_RESULT = CommandResult(255, HELD, "")
OTHER_FAILURE = CommandResult(255, "error: AuthorizationFailed: the client does not have authorization", "")


class Clock:
    """Advances by every recorded sleep, so the retry bound is checked as if time passed."""

    def __init__(self, world: World):
        self.world = world

    def __call__(self) -> float:
        return sum(self.world.sleeps)


def destroys(world: World) -> list:
    return [c for c in world.pulumi_calls() if c[0] == "destroy"]


@pytest.mark.parametrize("stack, resumed_by_the_sweeper", [("pr-123", True), ("dev", False)])
def test_the_report_says_who_resumes_the_stack(stack, resumed_by_the_sweeper):
    """The sweeper lists pr-* stacks only: a test stack left pending is resumed by hand."""
    outcome = DestroyOutcome(ok=False, attempts=3, subnet_in_use=True, detail="InUseSubnetCannotBeDeleted")
    next_line = next(line for line in pending_report(stack, outcome, 40) if line.lstrip().startswith("next:"))
    assert f"teardown --stack {stack} --yes" in next_line
    assert ("the daily sweeper also resumes" in next_line) is resumed_by_the_sweeper, next_line
    assert ("nothing resumes it by itself" in next_line) is not resumed_by_the_sweeper, next_line


def test_the_held_resources_are_read_from_the_diagnostics():
    assert held_resources(HELD) == ["azure-native:network:Subnet (network-apps-subnet)",
                                    "azure-native:network:VirtualNetwork (network-vnet)"]


def test_destroy_is_retried_with_backoff_until_azure_lets_go_then_teardown_finishes():
    world = World()
    world.pulumi.destroy_results = [HELD_RESULT, HELD_RESULT, HELD_RESULT]  # then success
    assert world.teardown(destroy_retry_minutes=60).execute() == 0
    assert len(destroys(world)) == 4
    assert world.sleeps[:3] == [FIRST_PAUSE_SECONDS, 2 * FIRST_PAUSE_SECONDS, 4 * FIRST_PAUSE_SECONDS]
    text = "\n".join(world.printed)
    assert "attempt 1: Azure still holds the subnet (InUseSubnetCannotBeDeleted" in text and "retrying in 60 s" in text
    assert ("stack", "rm", "--yes", "--stack", PR) in world.pulumi_calls()
    assert not any(c[:3] == ("stack", "tag", "set") for c in world.pulumi_calls())


def test_a_spent_bound_leaves_the_stack_tagged_and_says_what_is_left(monkeypatch):
    world = World()
    world.pulumi.destroy_results = [HELD_RESULT] * 50
    monkeypatch.setattr("infra.lifecycle.destroy_retry.monotonic", Clock(world))
    assert world.teardown(destroy_retry_minutes=20).execute() == EXIT_PENDING
    # 60 + 120 + 240 + 480 = 900 s fit in 20 min; the next pause (600 s) would not.
    assert world.sleeps == [60.0, 120.0, 240.0, 480.0] and len(destroys(world)) == 5
    assert all(p <= MAX_PAUSE_SECONDS for p in world.sleeps)
    calls = world.pulumi_calls()
    assert not any(c[:2] == ("stack", "rm") for c in calls), "the stack must stay until destroy succeeded"
    assert world.azure_calls() == []
    assert world.pulumi.tags[TAG_TEARDOWN_PENDING].startswith("error: deleting failed: Status=400 Code=\"InUseSubnetCannotBeDeleted\"")
    text = "\n".join(world.printed)
    assert "teardown pending" in text
    assert "azure-native:network:Subnet (network-apps-subnet), azure-native:network:VirtualNetwork (network-vnet)" in text
    assert "azure-container-apps/issues/974" in text and f"liveness-infra teardown --stack {PR} --yes" in text


def test_the_next_run_resumes_a_pending_stack_and_finishes():
    world = World()
    world.pulumi.tags[TAG_TEARDOWN_PENDING] = "InUseSubnetCannotBeDeleted"
    world.pulumi.resource_count[PR] = 3  # subnet, VNet, resource group
    assert world.teardown().execute() == 0
    text = "\n".join(world.printed)
    assert f"resuming: stack tag {TAG_TEARDOWN_PENDING}" in text and "teardown of 'pr-123' done" in text
    assert ("stack", "rm", "--yes", "--stack", PR) in world.pulumi_calls()


def test_other_destroy_failures_are_not_retried():
    world = World()
    world.pulumi.destroy_results = [OTHER_FAILURE]
    assert world.teardown().execute() == 1
    assert len(destroys(world)) == 1 and world.sleeps == []
    assert "AuthorizationFailed" in "\n".join(world.printed)


def test_zero_minutes_means_one_attempt():
    world = World()
    world.pulumi.destroy_results = [HELD_RESULT]
    assert world.teardown(destroy_retry_minutes=0).execute() == EXIT_PENDING
    assert len(destroys(world)) == 1 and world.sleeps == []


def test_destroy_runs_the_program_by_default_so_the_purge_hook_runs():
    world = World()
    assert world.teardown().execute() == 0
    assert destroys(world) == [("destroy", "--yes", "--non-interactive", "--stack", PR, "--run-program")]
    world = World()
    assert world.teardown(run_program=False).execute() == 0
    assert destroys(world) == [("destroy", "--yes", "--non-interactive", "--stack", PR)]


def test_destroy_output_is_streamed_and_read():
    modes: list = []
    results = [HELD_RESULT, CommandResult(0, "Resources: 2 deleted", "")]

    def runner(args, capture):
        modes.append(capture)
        return results.pop(0)

    outcome = destroy_with_retry(runner, ["destroy"], retry_minutes=5, say=lambda line: None,
                                 sleep=lambda s: None, clock=lambda: 0.0)
    assert outcome.ok and outcome.attempts == 2 and modes == [TEE, TEE]


FAKE_PULUMI_HELD = """#!/bin/sh
[ "$1" = --non-interactive ] && shift  # the Automation API passes it first
case "$1 $2" in
  "version ") echo v3.205.0 ;;
  "stack ls") echo '[{"name": "pr-77", "resourceCount": 3}]' ;;
  "stack output") echo '{"lifecycle": "ephemeral"}' ;;
  "stack tag") [ "$3" = set ] && echo "$4=$5" >> "$FAKE_PULUMI_TAGS"; [ "$3" = ls ] && echo '{}' ;;
  "destroy --yes") cat "$FAKE_PULUMI_DESTROY_OUTPUT"; exit 255 ;;
esac
exit 0
"""


def test_the_real_runner_streams_destroy_and_exit_4_reaches_the_shell(tmp_path, monkeypatch, capsys):
    """Through the real subprocess runner with a stand-in `pulumi` printing Azure's refusal."""
    import stat as stat_mod

    from infra import cli

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI_HELD)
    fake.chmod(fake.stat().st_mode | stat_mod.S_IXUSR)
    (tmp_path / "destroy.txt").write_text(HELD)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_PULUMI_DESTROY_OUTPUT", str(tmp_path / "destroy.txt"))
    monkeypatch.setenv("FAKE_PULUMI_TAGS", str(tmp_path / "tags.txt"))
    rc = cli.main(["teardown", "--stack", "pr-77", "--yes", "--destroy-retry-minutes", "0",
                   "--subscription-id", "3f2a6c1e-0b7d-4c55-9a1e-7d6b5c4a3f21"])
    out = capsys.readouterr().out
    assert rc == EXIT_PENDING
    assert 'Code="InUseSubnetCannotBeDeleted"' in out and "teardown pending" in out  # streamed, then judged
    assert (tmp_path / "tags.txt").read_text().startswith(f"{TAG_TEARDOWN_PENDING}=error: deleting failed")


def test_the_cli_refuses_an_unbounded_retry():
    done = subprocess.run([sys.executable, "-m", "infra.cli", "teardown", "--stack", PR, "--yes",
                           "--destroy-retry-minutes", "100000", "--subscription-id", "3f2a6c1e-0b7d-4c55-9a1e-7d6b5c4a3f21"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--destroy-retry-minutes" in done.stderr and "Traceback" not in done.stderr


def test_the_sweeper_picks_pending_stacks_whatever_their_age():
    from infra.lifecycle.ephemeral import pending_pr_stacks

    listing = [{"name": "org/face-liveness-isolation/pr-7", "lastUpdate": "2099-01-01T00:00:00Z"},
               {"name": "pr-12"}, {"name": "dev"}, {"name": "pr-3"}]
    tags = {("pr-7", TAG_TEARDOWN_PENDING): "InUseSubnetCannotBeDeleted", ("dev", TAG_TEARDOWN_PENDING): "x"}
    assert pending_pr_stacks(listing, lambda stack, tag: tags.get((stack, tag))) == ["pr-7"]


def test_the_workflows_resume_pending_teardowns_and_treat_exit_4_as_pending():
    sweeper = (ROOT / ".github/workflows/sweeper.yml").read_text()
    assert "infra.lifecycle.ephemeral pending < stacks.json" in sweeper
    assert f'"$rc" -eq {EXIT_PENDING}' in sweeper
    preview = (ROOT / ".github/workflows/preview-env.yml").read_text()
    assert f'"$rc" -eq {EXIT_PENDING}' in preview and f"stack tag rm --stack \"$STACK\" {TAG_TEARDOWN_PENDING}" in preview
