"""`liveness-infra plan`: renders for every stack, JSON matches the program, --base diffs two configs."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.shipped_stacks import SHIPPED_STACKS

import infra.plan.offline
from infra.plan import command as plan_cmd
from infra.plan import normalize as plan_normalize
from infra.plan import render as plan_render
from infra.config.loader import load_stack_settings
from infra.errors import UserError
from infra.stackfiles.document import SECRET_PLACEHOLDER
from tests.lifecycle.tools import ROOT

STACKS = list(SHIPPED_STACKS)
PR_STACK = "pr-4711"  # an ephemeral stack: no file of its own, read from the pr template


@pytest.fixture(scope="module")
def evaluations():
    """One real offline evaluation per stack (the mock runtime), shared by the format tests."""
    cache = {s: infra.plan.offline.evaluate_stack(s) for s in STACKS}
    cache[PR_STACK] = infra.plan.offline.evaluate_stack(PR_STACK, "pr")
    return cache


def run_plan(argv, monkeypatch, capsys, evaluations=None):
    if evaluations is not None:
        monkeypatch.setattr(infra.plan.offline, "evaluate_stack", lambda stack, template=None: evaluations[stack])
    parser = argparse.ArgumentParser()
    plan_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["plan", *argv])
    rc = args.handler(args)
    out, err = capsys.readouterr()
    return rc, out, err


def cli(*argv, cwd=ROOT, env_extra=None, timeout=120):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "infra.cli", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.parametrize("stack", STACKS + [PR_STACK])
def test_plan_renders_for_every_stack_in_every_format(stack, evaluations, monkeypatch, capsys):
    ev = evaluations[stack]
    n = len(ev.resources)
    rc, text, _ = run_plan(["--stack", stack], monkeypatch, capsys, evaluations)
    assert rc == 0, text
    assert f"Offline plan for stack {stack!r}: {n} resources" in text
    assert f"  resource group     {ev.settings.resource_group_name}" in text
    # The shipped prod-like stacks give the app server no path yet: one warning (docs/operations.md).
    warnings = len([f for f in ev.findings if f.invariant == "app-server-path"])
    assert ("Security findings: 0 error(s), 1 warning(s)" if warnings else "Security findings: none") in text
    rc, md, _ = run_plan(["--stack", stack, "--markdown"], monkeypatch, capsys, evaluations)
    assert rc == 0 and md.startswith(f"<!-- liveness-offline-plan:{stack} -->\n### Offline plan: `{stack}`")
    assert f"<summary>Resources ({n})</summary>" in md
    assert md.count("\n| `azure-native:") + md.count("\n| `liveness:") + md.count("\n| `pulumi:providers:") == n
    # Each resource's inputs, collapsed; multi-line strings (the nginx.conf) in full, line by line.
    assert md.count("\n<details><summary><code>") == n
    multi_line = [v for r in ev.resources for v in plan_normalize.flatten(r.inputs).values() if isinstance(v, str) and "\n" in v]
    assert multi_line, "expected the rendered nginx.conf among the inputs"
    for value in multi_line:
        middle = value.splitlines()[len(value.splitlines()) // 2]
        assert f"\n    {middle}\n" in md
    assert f'accountName = "{ev.settings.face.account_name}"' in md
    assert len(md) < 65536, "GitHub refuses comments longer than 65536 characters"
    rc, js, err = run_plan(["--stack", stack, "--json"], monkeypatch, capsys, evaluations)
    assert rc == 0 and err == "".join(f"finding: {plan_render.finding_line(f)}\n" for f in ev.findings)
    assert len(json.loads(js)) == n
    for output in (text, md, js):
        assert SECRET_PLACEHOLDER not in output


@pytest.mark.parametrize("stack", ["prod", PR_STACK])
def test_json_from_the_cli_matches_what_the_program_declares(stack, evaluations):
    started = time.monotonic()
    done = cli("plan", "--stack", stack, "--json")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert isinstance(doc, list) and all(set(item) == {"type", "name", "parent", "inputs"} for item in doc)
    declared = sorted((json.dumps(r.as_json(), sort_keys=True) for r in evaluations[stack].resources))
    assert sorted(json.dumps(item, sort_keys=True) for item in doc) == declared
    # The same facts, read from the validated settings rather than from the evaluation.
    settings = load_stack_settings(stack, None if stack in STACKS else "pr")
    names = {item["name"] for item in doc}
    assert all(item["parent"] is None or item["parent"] in names for item in doc)
    (account,) = [i for i in doc if i["type"] == "azure-native:cognitiveservices:Account"]
    assert account["inputs"]["accountName"] == settings.face.account_name
    assert account["inputs"]["location"] == settings.location
    assert account["inputs"]["properties"]["publicNetworkAccess"] == "Disabled"
    (group,) = [i for i in doc if i["type"] == "azure-native:resources:ResourceGroup"]
    assert group["inputs"]["resourceGroupName"] == settings.resource_group_name
    (endpoint,) = [i for i in doc if i["type"] == "azure-native:network:PrivateEndpoint"]
    assert endpoint["inputs"]["privateLinkServiceConnections"][0]["groupIds"] == ["account"]
    # Deterministic: a second run prints the same bytes.
    assert cli("plan", "--stack", stack, "--json").stdout == done.stdout
    print(f"plan --stack {stack} --json: {elapsed:.2f} s")


def test_unknown_stack_and_bad_ref_are_usage_errors():
    done = cli("plan", "--stack", "nope")
    assert done.returncode == 2 and "--stack" in done.stderr and "Traceback" not in done.stderr
    done = cli("plan", "--stack", "../etc/passwd")
    assert done.returncode == 2 and "expected a stack name" in done.stderr
    done = cli("plan", "--stack", "dev", "--base", "no-such-ref-xyz")
    assert done.returncode == 2 and "--base: received 'no-such-ref-xyz'" in done.stderr and "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------------
# --base: a throwaway git repository with two commits of the dev stack
# ---------------------------------------------------------------------------------------------

HUB_ZONE_ID = ("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-hub"
               "/providers/Microsoft.Network/privateDnsZones/privatelink.cognitiveservices.azure.com")
CHANGES = f"""\
  liveness:faceAllowedFqdns: ["api.contoso.com"]
  liveness:privateDnsMode: existing
  liveness:privateDnsLinkVnet: false
  liveness:privateDnsZoneIds:
    - {HUB_ZONE_ID}
  liveness:verificationCode:
    secure: AAABAKxqZXJ0eXVpb3A=
  liveness:verificationCodeIssuedAt: "2026-11-20T09:30:00Z"
"""


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
                          capture_output=True, text=True, check=True, timeout=60)
    return done.stdout


def project_copy(tmp_path_factory, name: str) -> Path:
    """A copy of the project's code and stack files in a fresh directory (skipped without git)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path_factory.mktemp(name)
    for part in ("infra", "components", "stacks"):
        shutil.copytree(ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "Pulumi.yaml", repo / "Pulumi.yaml")
    return repo


def commit_base(repo: Path) -> None:
    """The copy as it is now becomes the base commit."""
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory) -> Path:
    repo = project_copy(tmp_path_factory, "repo")
    commit_base(repo)
    dev = repo / "stacks" / "Pulumi.dev.yaml"
    text = dev.read_text()
    assert "proxyMaxReplicas: 3" in text and "registrationState: none" in text
    text = text.replace("proxyMaxReplicas: 3", "proxyMaxReplicas: 6").replace("registrationState: none", "registrationState: verifying")
    dev.write_text(text.rstrip("\n") + "\n" + CHANGES)
    (repo / "stacks" / "Pulumi.qa.yaml").write_text((repo / "stacks" / "Pulumi.dev.yaml").read_text())
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "head")
    return repo


def plan_in(repo: Path, *argv: str):
    return cli("plan", *argv, cwd=repo, env_extra={"PYTHONPATH": str(repo)})


def test_base_diff_names_the_right_changes(two_commits: Path):
    done = plan_in(two_commits, "--stack", "dev", "--base", "HEAD~1", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["base"].startswith("HEAD~1 (")
    assert [(a["type"], a["name"]) for a in doc["added"]] == [("azure-native:dns:RecordSet", "dns-azaiverify")]
    assert sorted((r["type"], r["name"]) for r in doc["removed"]) == [
        ("azure-native:privatedns:PrivateZone", "face-zone-cognitiveservices"),
        ("azure-native:privatedns:VirtualNetworkLink", "face-zone-cognitiveservices-link"),
    ]
    changed = {c["name"]: {x["path"]: (x["before"], x["after"]) for x in c["changes"]} for c in doc["changed"]}
    assert set(changed) == {"face-account", "face-pe-zone-group", "proxy-app"}
    assert changed["face-account"]["properties.allowedFqdnList[0]"] == (None, "api.contoso.com")
    assert changed["proxy-app"] == {"template.scale.maxReplicas": (3, 6)}
    assert changed["face-pe-zone-group"]["privateDnsZoneConfigs[0].privateDnsZoneId"][1].startswith("/subscriptions/1111")
    assert doc["findings"] == []
    assert SECRET_PLACEHOLDER not in done.stdout


def test_base_diff_markdown_is_fit_for_a_pr_comment(two_commits: Path):
    done = plan_in(two_commits, "--stack", "dev", "--base", "HEAD~1", "--markdown")
    assert done.returncode == 0, done.stderr
    md = done.stdout
    assert md.startswith("<!-- liveness-offline-plan:dev -->\n### Offline plan diff: `dev` against `HEAD~1 (")
    assert "**1 to add, 3 to change, 2 to remove**" in md
    assert "| ➖ remove | `azure-native:privatedns:PrivateZone` `face-zone-cognitiveservices` | |" in md
    assert "`template.scale.maxReplicas`: `3" in md
    assert SECRET_PLACEHOLDER not in md


def test_base_without_the_stack_shows_everything_added(two_commits: Path):
    done = plan_in(two_commits, "--stack", "qa", "--base", "HEAD~1")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert "where this stack does not exist yet" in first and "0 to change, 0 to remove (0 unchanged)" in first


def test_secrets_show_as_secret_in_the_plan(two_commits: Path):
    done = plan_in(two_commits, "--stack", "dev", "--json")
    assert done.returncode == 0, done.stderr
    (record,) = [r for r in json.loads(done.stdout) if r["name"] == "dns-azaiverify"]
    assert "[secret]" in json.dumps(record["inputs"]) and SECRET_PLACEHOLDER not in done.stdout


def test_broken_invariant_exits_1_and_reports_the_finding(monkeypatch, capsys, evaluations):
    from infra.plan.model import Finding

    ev = evaluations["dev"]
    broken = type(ev)(stack=ev.stack, settings=ev.settings, resources=ev.resources, outputs=ev.outputs,
                      findings=[Finding("error", "account is private", "publicNetworkAccess is Enabled", "face-account")])
    rc, out, err = run_plan(["--stack", "dev", "--json"], monkeypatch, capsys, {"dev": broken})
    assert rc == 1 and json.loads(out)
    assert err == "finding: ERROR: account is private: publicNetworkAccess is Enabled [face-account]\n"


def test_template_flag_must_name_an_existing_stack_file(monkeypatch, capsys):
    with pytest.raises(UserError, match="--template: received 'nope'"):
        run_plan(["--stack", "pr-1", "--template", "nope"], monkeypatch, capsys)


# ---------------------------------------------------------------------------------------------
# --base: a change deep inside the rendered nginx.conf must be visible line by line
# ---------------------------------------------------------------------------------------------

EDITED = "  # edited in the head commit"
# Appended to components/proxy_config.py in the head commit: whatever the renderer looks like, one
# line in the middle of its output changes, far past the first 80 characters of the file.
WRAP_RENDERER = f'''

_render_of_the_base = render_nginx_config


def render_nginx_config(settings, local=None):
    lines = _render_of_the_base(settings, local).split("\\n")
    lines[len(lines) // 2] += {EDITED!r}
    return "\\n".join(lines)
'''


@pytest.fixture(scope="module")
def nginx_edit(tmp_path_factory):
    repo = project_copy(tmp_path_factory, "nginx-repo")
    commit_base(repo)
    renderer = repo / "components" / "proxy_config.py"
    assert "def render_nginx_config(" in renderer.read_text()
    renderer.write_text(renderer.read_text() + WRAP_RENDERER)
    git(repo, "commit", "-qam", "head: one nginx.conf line changes")
    from components.proxy_config import render_nginx_config

    lines = render_nginx_config(load_stack_settings("dev").proxy_settings()).split("\n")
    old = lines[len(lines) // 2]
    assert len("\n".join(lines[: len(lines) // 2])) > 80, "the change must sit past the shortened one-line form"
    return repo, old, old + EDITED


def test_base_diff_shows_a_changed_nginx_conf_line(nginx_edit):
    repo, old, new = nginx_edit
    md = plan_in(repo, "--stack", "dev", "--base", "HEAD~1", "--markdown")
    assert md.returncode == 0, md.stderr
    assert "**0 to add, 1 to change, 0 to remove**" in md.stdout
    row = next(line for line in md.stdout.splitlines() if line.startswith("| ✏️ change"))
    assert "proxy-app" in row and "multi-line text, 1 line(s) added, 1 removed (diff below)" in row
    details = md.stdout[md.stdout.index("<details><summary>✏️"):]
    assert "<code>proxy-app</code>" in details.splitlines()[0]
    assert f"\n-{old}\n+{new}\n" in details and details.rstrip().endswith("</details>")

    text = plan_in(repo, "--stack", "dev", "--base", "HEAD~1")
    assert text.returncode == 0, text.stderr
    assert f"\n          -{old}\n          +{new}\n" in text.stdout
    for out in (md.stdout, text.stdout):
        assert SECRET_PLACEHOLDER not in out


# ---------------------------------------------------------------------------------------------
# --base: a change under a prod lock is caught before Azure refuses it
# ---------------------------------------------------------------------------------------------

APP_SERVER = "  liveness:faceAppServerPrincipalIds: [6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d]\n"


@pytest.fixture(scope="module")
def principal_removed(tmp_path_factory) -> Path:
    """Base: prod grants the app server its role. Head: the principal is removed."""
    repo = project_copy(tmp_path_factory, "locked")
    prod = repo / "stacks" / "Pulumi.prod.yaml"
    shipped = prod.read_text()
    prod.write_text(shipped.rstrip("\n") + "\n" + APP_SERVER)
    commit_base(repo)
    prod.write_text(shipped)
    git(repo, "commit", "-qam", "head")
    return repo


def test_base_diff_names_a_delete_under_a_lock_and_the_way_through(principal_removed: Path):
    done = plan_in(principal_removed, "--stack", "prod", "--base", "HEAD~1", "--json")
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert [(r["type"], r["name"]) for r in doc["removed"]] == [("azure-native:authorization:RoleAssignment", "face-role-0")]
    (finding,) = [f for f in doc["findings"] if f["invariant"] == "lock-blocks-change"]
    assert finding["resource"] == "face-role-0" and finding["severity"] == "error"
    assert "face-account-lock" in finding["message"] and "`liveness:managementLocks false`" in finding["message"]
    text = plan_in(principal_removed, "--stack", "prod", "--base", "HEAD~1").stdout
    assert "lock-blocks-change" in text and "face-role-0" in text
