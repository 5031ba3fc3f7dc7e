"""`liveness-infra teardown`: refuses prod-like stacks; destroys, purges the right account, removes."""

from __future__ import annotations

import inspect
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import infra.lifecycle.teardown as teardown_cmd
from infra import cli
from infra.config.loader import load_stack_settings
from infra.errors import UserError
from infra.purge import PurgeTarget, purge_after_delete, purge_soft_deleted, target_from_account_id
from infra.lifecycle.pulumi_cli import resolve_subscription
from infra.lifecycle.teardown import Teardown, TeardownRefused
from tests.lifecycle.fakes import (SUBSCRIPTION, FakeCognitiveClient, FakePulumi, FakeStackReader, account_id, forbidden,
                                   no_credentials)
from tests.lifecycle.tools import ROOT

PR = "pr-123"


def pr_settings():
    return load_stack_settings(PR, "pr")


class World:
    """A fake Pulumi backend and Azure subscription; every call lands in `log`, in order."""

    def __init__(self, stacks=(PR,), outputs=None, soft_deleted=None, **client_kwargs):
        self.log: list = []
        self.printed: list[str] = []
        outputs = {"lifecycle": "ephemeral"} if outputs is None else outputs
        self.pulumi = FakePulumi(self.log, stacks=list(stacks), outputs=outputs)
        self.soft_deleted = set(soft_deleted or ())
        self.client_kwargs = client_kwargs
        self.clients: list[FakeCognitiveClient] = []
        self.sleeps: list[float] = []

    def client_factory(self, subscription_id):
        self.log.append(("client", subscription_id))
        client = FakeCognitiveClient(self.log, subscription_id, soft_deleted=self.soft_deleted, **self.client_kwargs)
        self.clients.append(client)
        return client

    def teardown(self, stack=PR, **kwargs):
        kwargs.setdefault("yes", True)
        kwargs.setdefault("subscription_id", SUBSCRIPTION)
        kwargs.setdefault("environ", {})
        return Teardown(stack, runner=self.pulumi, stack_reader=FakeStackReader(self.pulumi),
                        client_factory=self.client_factory, out=self.printed.append, sleep=self.sleeps.append, **kwargs)

    def azure_calls(self):
        return [c for c in self.log if c[0].startswith("deleted_accounts")]

    def pulumi_calls(self):
        return [c[1] for c in self.log if c[0] == "pulumi"]


def deployed_outputs(settings, **extra):
    return {
        "lifecycle": settings.lifecycle,
        "faceAccountName": "fl-pr-123-face-r98765",
        "faceAccountId": account_id("fl-pr-123-face-r98765", settings.resource_group_name),
        "resourceGroupName": settings.resource_group_name,
        "location": "westeurope",
        "verificationCode": "[secret]",
        **extra,
    }


# ---------------------------------------------------------------------------------------------
# Refusals: nothing is touched
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_prod_like_stacks_are_refused_before_anything_is_touched(stack):
    world = World(stacks=[stack])
    with pytest.raises(TeardownRefused, match=rf"refusing to tear down '{stack}': its liveness:lifecycle is 'prod'"):
        world.teardown(stack).execute()
    assert world.log == []


def test_refusal_through_the_cli_is_exit_2_with_one_line_and_no_traceback(capsys):
    rc = cli.main(["teardown", "--stack", "prod", "--yes", "--subscription-id", SUBSCRIPTION])
    _, err = capsys.readouterr()
    assert rc == 2
    assert err.startswith("liveness-infra teardown: error: --stack: refusing to tear down 'prod'") and err.count("\n") == 1
    assert "protection of its account, zone and verification record stays on" in err


def test_a_deployed_stack_that_reports_prod_is_refused_before_destroy():
    settings = pr_settings()
    world = World(outputs=deployed_outputs(settings, lifecycle="prod"), soft_deleted=set())
    with pytest.raises(TeardownRefused, match="what is deployed reports lifecycle 'prod'"):
        world.teardown().execute()
    assert world.pulumi_calls() == [("stack", "ls", "--json"), ("stack", "output", "--json", "--stack", PR),
                                    ("stack", "tag", "ls", "--json", "--stack", PR)]
    assert world.azure_calls() == []


def test_template_is_refused_for_anything_but_a_pr_stack():
    """The reviewer's bypass: `--stack prod --template dev` read dev's lifecycle and went on."""
    world = World(stacks=["prod"], outputs={})
    with pytest.raises(UserError, match=r"--template: received 'dev' for stack 'prod'; --template is only accepted for ephemeral pr-<N>"):
        world.teardown("prod", template="dev").execute()
    assert world.log == []


def test_template_bypass_through_the_cli_is_exit_2(capsys):
    rc = cli.main(["teardown", "--stack", "prod", "--template", "dev", "--yes", "--subscription-id", SUBSCRIPTION])
    _, err = capsys.readouterr()
    assert rc == 2 and "--template" in err and err.count("\n") == 1


def test_a_pr_stack_whose_own_file_says_prod_is_refused_whatever_the_template(tmp_path, monkeypatch):
    import infra.stackfiles.files as stackfile

    stacks = tmp_path / "stacks"
    stacks.mkdir()
    template = (ROOT / "stacks" / "Pulumi.pr.yaml").read_text()
    (stacks / "Pulumi.pr.yaml").write_text(template)
    (stacks / "Pulumi.pr-5.yaml").write_text(template.replace("liveness:lifecycle: ephemeral", "liveness:lifecycle: prod")
                                           .replace("liveness:proxyMinReplicas: 1", "liveness:proxyMinReplicas: 2"))
    monkeypatch.setattr(stackfile, "STACKS_DIR", stacks)
    world = World(stacks=["pr-5"], outputs={"lifecycle": "ephemeral"})
    refusal = r"refusing to tear down 'pr-5': its liveness:lifecycle is 'prod' \(stacks/Pulumi.pr-5.yaml\)"
    with pytest.raises(TeardownRefused, match=refusal):
        world.teardown("pr-5", template="pr").execute()
    assert world.log == []


@pytest.mark.parametrize("case", ["output-fails", "output-not-json", "outputs-empty", "outputs-without-lifecycle"])
def test_a_deployed_stack_whose_lifecycle_cannot_be_read_is_refused_before_destroy(case):
    settings = pr_settings()
    outputs = {"outputs-empty": {}, "outputs-without-lifecycle": {"faceAccountName": "x"}}.get(case, {})
    world = World(outputs=outputs)
    world.pulumi.resource_count[PR] = 14
    if case == "output-fails":
        world.pulumi.fail["output"] = 1
    if case == "output-not-json":
        world.pulumi.outputs = "not a mapping"
    with pytest.raises(TeardownRefused) as refused:
        world.teardown().execute()
    assert "Nothing was touched" in str(refused.value)
    assert not any(c[0] in ("destroy", "rm") or c[:2] == ("stack", "rm") for c in world.pulumi_calls())
    assert world.azure_calls() == []
    assert settings.lifecycle == "ephemeral"  # the config alone would have allowed it


def test_refused_through_the_cli_when_outputs_cannot_be_read(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text('#!/bin/sh\n[ "$1" = --non-interactive ] && shift\necho "$*" >> "$FAKE_PULUMI_LOG"\ncase "$1 $2" in\n'
                    '  "version ") echo v3.205.0 ;;\n'
                    '  "stack ls") echo \'[{"name": "pr-77", "resourceCount": 9}]\' ;;\n'
                    '  "stack output") exit 1 ;;\nesac\nexit 0\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    log_file = tmp_path / "pulumi.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log_file))
    monkeypatch.setattr(teardown_cmd, "default_client", lambda sub: pytest.fail("no Azure call may happen"))
    rc = cli.main(["teardown", "--stack", "pr-77", "--yes", "--subscription-id", SUBSCRIPTION])
    _, err = capsys.readouterr()
    assert rc == 2 and "outputs could not be read" in err
    assert log_file.read_text().splitlines() == ["stack ls --json", "version", "stack output --json --stack pr-77"]


def test_the_lifecycle_stack_tag_vouches_for_a_stack_whose_first_up_failed():
    """A first `up` that failed has resources but no outputs; the tag set before it says ephemeral."""
    settings = pr_settings()
    real = ("westeurope", settings.resource_group_name, "fl-pr-123-face-r555")
    world = World(outputs={}, soft_deleted={real})
    world.pulumi.resource_count[PR] = 7
    world.pulumi.tags.update({"liveness:lifecycle": "ephemeral",
                              "liveness:faceAccountId": account_id("fl-pr-123-face-r555", settings.resource_group_name),
                              "liveness:faceLocation": "westeurope"})
    assert world.teardown().execute() == 0
    assert ("deleted_accounts.begin_purge", *real) in world.log
    assert "(from the stack tag liveness:faceAccountId)" in "\n".join(world.printed)
    world.pulumi.tags["liveness:lifecycle"] = "prod"
    with pytest.raises(TeardownRefused, match="stack tag liveness:lifecycle"):
        world.teardown().execute()


def test_without_yes_and_without_a_terminal_it_refuses():
    world = World()
    with pytest.raises(UserError, match="--yes: not given and stdin is not a terminal"):
        world.teardown(yes=False, is_tty=lambda: False).execute()
    assert world.log == []


def test_at_a_terminal_the_stack_name_must_be_typed():
    world = World()
    with pytest.raises(UserError, match="confirmation: received 'yes'; expected the stack name 'pr-123'"):
        world.teardown(yes=False, is_tty=lambda: True, ask=lambda prompt: "yes").execute()
    assert world.log == []
    prompts: list[str] = []

    def type_the_name(prompt: str) -> str:
        prompts.append(prompt)
        return PR

    world.teardown(yes=False, is_tty=lambda: True, ask=type_the_name).execute()
    assert "Type the stack name" in prompts[0] and world.pulumi_calls()[0] == ("stack", "ls", "--json")


def test_subscription_id_comes_from_the_flag_then_the_environment():
    other = "11111111-2222-3333-4444-555555555555"
    assert resolve_subscription(SUBSCRIPTION, {"ARM_SUBSCRIPTION_ID": other}) == SUBSCRIPTION
    assert resolve_subscription(None, {"ARM_SUBSCRIPTION_ID": other, "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}) == other
    assert resolve_subscription(None, {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION.upper()}) == SUBSCRIPTION
    with pytest.raises(UserError, match=r"--subscription-id: received nothing \(and \$ARM_SUBSCRIPTION_ID"):
        resolve_subscription(None, {})
    with pytest.raises(UserError, match=r"\$AZURE_SUBSCRIPTION_ID: received 'my-sub'"):
        resolve_subscription(None, {"AZURE_SUBSCRIPTION_ID": "my-sub"})


def test_missing_subscription_is_refused_before_anything_is_touched():
    world = World()
    with pytest.raises(UserError, match="--subscription-id"):
        world.teardown(subscription_id=None, environ={}).execute()
    assert world.log == []


def test_an_account_in_another_subscription_stops_before_destroy():
    settings = pr_settings()
    outputs = deployed_outputs(settings, faceAccountId=account_id("x", "rg", "99999999-9999-9999-9999-999999999999"))
    world = World(outputs=outputs)
    with pytest.raises(UserError, match="lives in subscription 99999999"):
        world.teardown().execute()
    assert not any(c[0] == "destroy" for c in world.pulumi_calls()) and world.azure_calls() == []


# ---------------------------------------------------------------------------------------------
# The happy path and its variants
# ---------------------------------------------------------------------------------------------


def test_destroys_then_purges_the_deployed_account_then_removes_the_stack():
    settings = pr_settings()
    outputs = deployed_outputs(settings)
    target = ("westeurope", settings.resource_group_name, "fl-pr-123-face-r98765")
    world = World(outputs=outputs, soft_deleted={target})
    assert world.teardown().execute() == 0
    assert world.log == [
        ("pulumi", ("stack", "ls", "--json")),
        ("pulumi", ("stack", "output", "--json", "--stack", PR)),
        ("pulumi", ("stack", "tag", "ls", "--json", "--stack", PR)),
        ("pulumi", ("destroy", "--yes", "--non-interactive", "--stack", PR, "--run-program")),
        ("client", SUBSCRIPTION),
        ("deleted_accounts.get", *target),
        ("deleted_accounts.begin_purge", *target),
        ("poller.result", 600.0),
        ("pulumi", ("stack", "rm", "--yes", "--stack", PR)),
    ]
    text = "\n".join(world.printed)
    for step in ("[1/4] looking up", "[2/4] pulumi destroy", "[3/4] purging", "[4/4] pulumi stack rm", "teardown of 'pr-123' done"):
        assert step in text
    assert "purged: 'fl-pr-123-face-r98765'" in text
    assert "[secret]" not in text


def test_a_rerun_after_a_failed_purge_purges_the_account_recorded_in_the_stack_tag():
    """Review finding 3: after destroy the outputs are gone; the tag set at `up` time is not."""
    settings = pr_settings()
    real = ("westeurope", settings.resource_group_name, "fl-pr-123-face-r98765")
    configured = (settings.location, settings.resource_group_name, settings.face.account_name)
    assert real[2] != configured[2]
    world = World(outputs={}, soft_deleted={real, configured})
    world.pulumi.resource_count[PR] = 0  # destroyed by the first run
    world.pulumi.tags["liveness:faceAccountId"] = account_id(real[2], real[1])
    assert world.teardown().execute() == 0
    purged = [c[1:] for c in world.azure_calls() if c[0] == "deleted_accounts.begin_purge"]
    assert purged == [real]
    assert ("stack", "rm", "--yes", "--stack", PR) in world.pulumi_calls()
    assert world.sleeps == []  # nothing was deployed, so nothing to wait for


def test_an_ephemeral_stack_with_no_recorded_account_purges_by_prefix_never_the_configured_name():
    settings = pr_settings()
    group = settings.resource_group_name
    mine = [("westeurope", group, "fl-pr-123-face-r111"), ("northeurope", group, "fl-pr-123-face-r222")]
    others = [("westeurope", group, "fl-pr-1234-face-r1"),   # another PR's prefix
              ("westeurope", "rg-elsewhere", "fl-pr-123-face-r333"),  # another resource group
              ("westeurope", group, "fl-pr-123-proxy")]       # not a Face account name
    world = World(outputs={}, soft_deleted={*mine, *others})
    world.pulumi.resource_count[PR] = 0
    assert world.teardown().execute() == 0
    purged = sorted(c[1:] for c in world.azure_calls() if c[0] == "deleted_accounts.begin_purge")
    assert purged == sorted(mine)
    text = "\n".join(world.printed)
    assert "will purge every soft-deleted account named fl-pr-123-face-*" in text
    assert settings.face.account_name not in text  # the config-derived name is never offered as the answer


def test_prefix_scan_with_nothing_soft_deleted_is_said_and_waits_only_after_a_real_destroy():
    world = World(outputs={"lifecycle": "ephemeral"}, soft_deleted=set())
    world.pulumi.resource_count[PR] = 12
    assert world.teardown(purge_wait=25).execute() == 0
    assert [c[0] for c in world.azure_calls()] == ["deleted_accounts.list"] * 3
    assert world.sleeps == [10.0, 10.0]
    assert "nothing soft-deleted named fl-pr-123-face-* in resource group" in "\n".join(world.printed)


def test_a_test_stack_without_outputs_uses_its_committed_config_name():
    settings = load_stack_settings("dev")
    target = (settings.location, settings.resource_group_name, settings.face.account_name)
    world = World(stacks=["dev"], outputs={"lifecycle": "test"}, soft_deleted={target})
    assert world.teardown("dev").execute() == 0
    assert ("deleted_accounts.begin_purge", *target) in world.log
    assert "(from the stack config)" in "\n".join(world.printed)


def test_nothing_soft_deleted_is_said_and_is_not_an_error():
    world = World(stacks=[], soft_deleted=set())
    assert world.teardown().execute() == 0
    assert [c[0] for c in world.azure_calls()] == ["deleted_accounts.list"]
    assert world.pulumi_calls() == [("stack", "ls", "--json")]  # no destroy, no rm: the stack is gone
    text = "\n".join(world.printed)
    assert "nothing soft-deleted named fl-pr-123-face-*" in text and "nothing to purge" in text and world.sleeps == []


def test_waits_for_a_just_deleted_account_to_show_as_soft_deleted():
    settings = pr_settings()
    target = ("westeurope", settings.resource_group_name, "fl-pr-123-face-r98765")
    world = World(outputs=deployed_outputs(settings), soft_deleted={target}, appear_after=2)
    assert world.teardown(purge_wait=60).execute() == 0
    assert [c[0] for c in world.azure_calls()] == ["deleted_accounts.get"] * 3 + ["deleted_accounts.begin_purge"]
    assert world.sleeps == [10.0, 10.0]


def test_a_failed_destroy_purges_nothing_and_keeps_the_stack():
    settings = pr_settings()
    world = World(outputs=deployed_outputs(settings))
    world.pulumi.fail["destroy"] = 255
    assert world.teardown().execute() == 1
    assert world.azure_calls() == [] and not any(c[:2] == ("stack", "rm") for c in world.pulumi_calls())
    printed = "\n".join(world.printed)
    assert "pulumi destroy failed (exit 255: error: destroy failed for the test); nothing was purged and the stack is kept" in printed


def test_a_purge_without_permission_says_which_permission_and_keeps_the_stack():
    settings = pr_settings()
    target = ("westeurope", settings.resource_group_name, "fl-pr-123-face-r98765")
    world = World(outputs=deployed_outputs(settings), soft_deleted={target}, purge_error=forbidden())
    assert world.teardown().execute() == 1
    text = "\n".join(world.printed)
    assert "Microsoft.CognitiveServices/locations/resourceGroups/deletedAccounts/delete at subscription scope" in text
    assert "az cognitiveservices account purge --location westeurope" in text
    assert not any(c[:2] == ("stack", "rm") for c in world.pulumi_calls())


def test_missing_credentials_are_not_reported_as_a_missing_permission():
    settings = pr_settings()
    world = World(outputs=deployed_outputs(settings), get_error=no_credentials())
    assert world.teardown().execute() == 1
    text = "\n".join(world.printed)
    assert "no usable Azure credentials" in text and "az login" in text
    assert "not allowed" not in text and "deletedAccounts/delete" not in text
    assert not any(c[:2] == ("stack", "rm") for c in world.pulumi_calls())


def test_a_403_is_reported_as_the_missing_permission_not_as_credentials():
    settings = pr_settings()
    world = World(outputs=deployed_outputs(settings), get_error=forbidden())
    assert world.teardown().execute() == 1
    text = "\n".join(world.printed)
    assert "not allowed to read soft-deleted accounts" in text and "no usable Azure credentials" not in text


def test_an_unreachable_backend_touches_nothing():
    world = World()
    world.pulumi.fail["ls"] = 1
    assert world.teardown().execute() == 1
    assert world.pulumi_calls() == [("stack", "ls", "--json")] and world.azure_calls() == []
    assert "Is the CLI logged in" in "\n".join(world.printed)


def test_a_test_stack_keeps_its_committed_config_and_run_program_is_passed_on():
    settings = load_stack_settings("dev")
    assert settings.lifecycle == "test"
    world = World(stacks=["org/face-liveness-isolation/dev"], outputs={"lifecycle": "test"})
    assert world.teardown("dev", run_program=True).execute() == 0
    calls = world.pulumi_calls()
    assert ("destroy", "--yes", "--non-interactive", "--stack", "dev", "--run-program") in calls
    assert ("stack", "rm", "--yes", "--stack", "dev", "--preserve-config") in calls


# ---------------------------------------------------------------------------------------------
# The Azure SDK contract the fake stands for, and the resource hook
# ---------------------------------------------------------------------------------------------


def test_the_fake_matches_the_installed_sdk_signatures():
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.mgmt.cognitiveservices.operations import DeletedAccountsOperations

    for method in ("get", "begin_purge"):
        params = list(inspect.signature(getattr(DeletedAccountsOperations, method)).parameters)
        assert params == ["self", "location", "resource_group_name", "account_name", "kwargs"], method
    init = list(inspect.signature(CognitiveServicesManagementClient.__init__).parameters)
    assert init[1:3] == ["credential", "subscription_id"]


def test_the_default_client_is_built_lazily_with_default_azure_credential(monkeypatch):
    import azure.identity
    import azure.mgmt.cognitiveservices as cs

    made: list[tuple[str, str]] = []

    def client(cred: str, sub: str) -> str:
        made.append((cred, sub))
        return "client"

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", lambda: "cred")
    monkeypatch.setattr(cs, "CognitiveServicesManagementClient", client)
    assert teardown_cmd.default_client(SUBSCRIPTION) == "client" and made == [("cred", SUBSCRIPTION)]


def test_purge_target_from_an_account_id():
    t = target_from_account_id(account_id("fl-pr-9-face-abc", "rg-fl-pr-9"), "West Europe")
    assert t == PurgeTarget(SUBSCRIPTION, "westeurope", "rg-fl-pr-9", "fl-pr-9-face-abc")
    with pytest.raises(ValueError):
        target_from_account_id("/subscriptions/x/resourceGroups/y/providers/Microsoft.Storage/storageAccounts/z", "westeurope")


def test_the_after_delete_hook_purges_the_deleted_account():
    from pulumi import ResourceHookArgs

    log: list = []
    target = ("northeurope", "rg-fl-pr-5", "fl-pr-5-face-r1")
    hook = purge_after_delete(lambda sub: FakeCognitiveClient(log, sub, soft_deleted={target}), wait_seconds=0)
    args = ResourceHookArgs(urn="urn:x", id=account_id("fl-pr-5-face-r1", "rg-fl-pr-5"), name="face-account",
                            type="azure-native:cognitiveservices:Account", old_outputs={"location": "northeurope"})
    hook(args)
    assert ("deleted_accounts.begin_purge", *target) in log


def test_purge_lookup_errors_are_reported_not_raised_raw():
    from infra.purge import PurgeError

    log: list = []
    client = FakeCognitiveClient(log, SUBSCRIPTION, soft_deleted=set(), get_error=forbidden())
    with pytest.raises(PurgeError, match="not allowed to read soft-deleted accounts"):
        purge_soft_deleted(client, PurgeTarget(SUBSCRIPTION, "westeurope", "rg", "acc"))


# ---------------------------------------------------------------------------------------------
# End to end through the real subprocess runner, with a stand-in `pulumi` on PATH
# ---------------------------------------------------------------------------------------------

FAKE_PULUMI = """#!/bin/sh
[ "$1" = --non-interactive ] && shift  # the Automation API passes it first
echo "$*" >> "$FAKE_PULUMI_LOG"
case "$1 $2" in
  "version ") echo v3.205.0 ;;
  "stack ls") echo '[{"name": "pr-77"}]' ;;
  "stack output") echo '{"lifecycle": "ephemeral"}' ;;
esac
exit 0
"""


def test_the_cli_drives_the_pulumi_cli_and_the_sdk(tmp_path: Path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    log_file = tmp_path / "pulumi.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(log_file))
    monkeypatch.setenv("ARM_SUBSCRIPTION_ID", SUBSCRIPTION)
    calls: list = []
    settings = load_stack_settings("pr-77", "pr")
    target = (settings.location, settings.resource_group_name, settings.face.account_name)
    monkeypatch.setattr(teardown_cmd, "default_client", lambda sub: FakeCognitiveClient(calls, sub, soft_deleted={target}))
    rc = cli.main(["teardown", "--stack", "pr-77", "--yes", "--purge-wait", "0"])
    out, err = capsys.readouterr()
    assert rc == 0, out + err
    assert log_file.read_text().splitlines() == [
        "stack ls --json",
        "version",  # the Automation API's workspace checks the CLI's version once
        "stack output --json --stack pr-77",
        "stack tag ls --json --stack pr-77",
        "destroy --yes --non-interactive --stack pr-77 --run-program",
        "stack rm --yes --stack pr-77",
    ]
    assert ("deleted_accounts.begin_purge", *target) in calls


def test_help_lists_the_flags():
    done = subprocess.run([sys.executable, "-m", "infra.cli", "teardown", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for flag in ("--stack", "--yes", "--subscription-id", "--run-program", "--no-run-program", "--purge-wait",
                 "--destroy-retry-minutes", "4 teardown pending"):
        assert flag in " ".join(done.stdout.split())
