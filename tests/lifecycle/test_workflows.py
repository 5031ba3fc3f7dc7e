"""The GitHub workflows: actionlint passes on every one, and the lifecycle rules hold in them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.lifecycle.tools import ROOT, Actionlint
from tests.shipped_stacks import LONG_LIVED_STACKS

WORKFLOWS_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
MUTATING = re.compile(r"(\bteardown\b|pulumi (destroy|up)\b|stack rm\b)")


@pytest.fixture(scope="session")
def lint_results(actionlint: Actionlint) -> dict[str, list[dict]]:
    results = actionlint.lint(WORKFLOWS)
    by_file: dict[str, list[dict]] = {str(p): [] for p in WORKFLOWS}
    for r in results:
        by_file.setdefault(r["file"], []).append(r)
    return by_file


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def all_jobs():
    for path in WORKFLOWS:
        for job_id, job in load(path)["jobs"].items():
            yield path.name, job_id, job


def test_the_expected_workflows_exist():
    names = {p.name for p in WORKFLOWS}
    assert {"preview.yml", "deploy.yml", "preview-env.yml", "sweeper.yml", "plan-comment.yml", "test.yml"} <= names


def test_actionlint_is_a_recent_engine(actionlint: Actionlint):
    major, minor = (int(x) for x in actionlint.version.split(".")[:2])
    assert (major, minor) >= (1, 7), f"actionlint {actionlint.version} predates the vars context"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(workflow: Path, lint_results):
    problems = lint_results[str(workflow)]
    assert problems == [], "\n".join(f"{workflow.name}:{p['line']}:{p['column']}: {p['message']} [{p['kind']}]" for p in problems)


def test_actionlint_catches_a_broken_workflow(actionlint: Actionlint, tmp_path: Path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "name: broken\n"
        "on:\n  pull_request:\n    types: [opened, labelled]\n"
        "permissions:\n  id-tokens: write\n"
        "jobs:\n"
        "  plan:\n"
        "    runs-on: ubuntu-24.04\n"
        "    needs: build\n"
        "    steps:\n"
        "      - run: echo ${{ github.event.pull_request.numbr }} ${{ matrix.stack }}\n"
        "      - uses: actions/checkout@v4\n"
        "        with:\n          fetch-dept: 0\n"
    )
    found = actionlint.lint([broken])
    kinds = {(r["kind"], r["line"]) for r in found}
    messages = " ".join(r["message"] for r in found)
    assert ("events", 4) in kinds, messages  # "labelled" is not an activity type
    assert ("permissions", 6) in kinds, messages  # no scope "id-tokens"
    assert ("job-needs", 8) in kinds, messages  # job "plan" needs "build", which does not exist
    assert ("expression", 12) in kinds, messages  # matrix is not defined in this job
    assert ("action", 15) in kinds, messages  # checkout has no input "fetch-dept"


def test_actions_are_pinned_by_commit_with_a_version_comment():
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            m = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
            if not m:
                continue
            assert PINNED.match(m.group(1)), f"{path.name}: {m.group(1)} is not pinned to a full commit sha"
            assert re.search(r"#\s*v\d+\.\d+\.\d+", m.group(2)), f"{path.name}: {m.group(1)} has no '# vX.Y.Z' comment"


def test_least_privilege_and_no_pull_request_target():
    for path in WORKFLOWS:
        doc = load(path)
        assert "pull_request_target" not in doc["on"], f"{path.name} runs fork code with a write token"
        assert doc.get("permissions") == {"contents": "read"}, f"{path.name}: default permissions must be contents: read"
    for name, job_id, job in all_jobs():
        perms = job.get("permissions", {})
        if perms.get("id-token") == "write":
            assert any("azure/login@" in str(s.get("uses", "")) for s in job["steps"]), f"{name}/{job_id}: id-token without azure/login"


def test_preview_covers_every_long_lived_stack_with_oidc_and_one_comment_per_stack():
    doc = load(WORKFLOWS_DIR / "preview.yml")
    assert set(doc["on"]) == {"pull_request"}
    long_lived = sorted(LONG_LIVED_STACKS)
    assert sorted(doc["jobs"]["preview"]["strategy"]["matrix"]["stack"]) == long_lived
    # The offline plan also covers the ephemeral template, under a pr-<N> name.
    assert sorted(doc["jobs"]["offline-plan"]["strategy"]["matrix"]["stack"]) == sorted(long_lived + ["pr-1"])
    preview = doc["jobs"]["preview"]
    assert preview["if"].startswith("github.event.pull_request.head.repo.full_name == github.repository")
    assert preview["permissions"]["id-token"] == "write"
    pulumi = [s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert len(pulumi) == 1
    w = pulumi[0]["with"]
    assert (w["command"], w["stack-name"], w["diff"], w["comment-on-pr"], w["edit-pr-comment"]) == (
        "preview", "${{ matrix.stack }}", True, True, True)
    offline = doc["jobs"]["offline-plan"]
    assert "if" not in offline, "the offline plan must run for fork pull requests too"
    runs = " ".join(str(s.get("run", "")) for s in offline["steps"])
    assert "liveness-infra plan" in runs and "--markdown" in runs and "--base" in runs
    assert not any("azure/login" in str(s.get("uses", "")) for s in offline["steps"])


def test_fork_plans_are_posted_by_a_workflow_that_never_runs_pull_request_code():
    doc = load(WORKFLOWS_DIR / "plan-comment.yml")
    assert doc["on"]["workflow_run"]["workflows"] == [load(WORKFLOWS_DIR / "preview.yml")["name"]]
    job = doc["jobs"]["comment"]
    assert "head_repository.full_name != github.repository" in job["if"]
    assert not any("checkout" in str(s.get("uses", "")) or "run" in s for s in job["steps"])
    script = next(s for s in job["steps"] if "github-script" in str(s.get("uses", "")))["with"]["script"]
    assert "head.sha !== sha" in script and "liveness-offline-plan:" in script
    # The fork's code made the plan: the comment must open (after the hidden marker) with a notice.
    assert "**Untrusted content.**" in script and "generated by the pull request's own code" in script
    assert "body = `${marker}\\n${notice}\\n\\n${body}`" in script


def test_deploy_goes_dev_then_staging_then_prod_behind_environments():
    doc = load(WORKFLOWS_DIR / "deploy.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    jobs = doc["jobs"]
    assert jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    for stack in ("dev", "staging", "prod"):
        job = jobs[stack]
        assert job["environment"] == stack
        up = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@"))
        assert (up["with"]["command"], up["with"]["stack-name"]) == ("up", stack)


def test_every_mutating_job_holds_its_stack_group_and_is_never_cancelled():
    """Two runs never touch one stack at once: up/destroy/teardown share `pulumi-<stack>`."""
    seen = 0
    for name, job_id, job in all_jobs():
        mutating = any(
            MUTATING.search(str(s.get("run", "")))
            or (str(s.get("uses", "")).startswith("pulumi/actions@") and s.get("with", {}).get("command") in ("up", "destroy"))
            for s in job["steps"]
        )
        if not mutating:
            continue
        seen += 1
        group = job.get("concurrency", {})
        assert group.get("cancel-in-progress") is False, f"{name}/{job_id}: a running update must never be cancelled"
        assert re.fullmatch(r"pulumi-(dev|staging|prod|pr-\$\{\{ github\.event\.pull_request\.number \}\}|\$\{\{ matrix\.stack \}\})",
                            group.get("group", "")), f"{name}/{job_id}: group {group.get('group')!r}"
    assert seen >= 6  # deploy x3, preview-env up/down, sweeper


def test_preview_env_creates_pr_stacks_from_the_template_and_tears_them_down():
    doc = load(WORKFLOWS_DIR / "preview-env.yml")
    assert set(doc["on"]["pull_request"]["types"]) >= {"labeled", "unlabeled", "closed", "synchronize"}
    assert doc["env"]["STACK"] == "pr-${{ github.event.pull_request.number }}"
    up, down = doc["jobs"]["up"], doc["jobs"]["down"]
    assert "'preview-env'" in up["if"] and "'preview-env'" in down["if"]
    assert "github.event.action == 'closed'" in down["if"] and "github.event.action == 'unlabeled'" in down["if"]
    prepare = " ".join(str(s.get("run", "")) for s in up["steps"])
    assert 'cp stacks/Pulumi.pr.yaml "stacks/Pulumi.$STACK.yaml"' in prepare
    assert "liveness:instanceSuffix" in prepare
    # The account's real id is recorded as stack tags before `up` and again from its outputs after.
    assert "python -m infra.lifecycle.ephemeral stack-tags --stack \"$STACK\"" in prepare
    assert 'pulumi stack tag set --stack "$STACK" "$name" "$value"' in prepare
    assert 'pulumi stack tag set --stack "$STACK" liveness:faceAccountId "$id"' in prepare
    names = [s.get("name", s.get("uses", "")) for s in up["steps"]]
    tag_before = next(i for i, n in enumerate(names) if "stack tags before" in str(n))
    up_step = next(i for i, st in enumerate(up["steps"]) if st.get("with", {}).get("command") == "up")
    assert tag_before < up_step < len(names) - 1
    assert (ROOT / "stacks" / "Pulumi.pr.yaml").is_file()
    teardown = " ".join(str(s.get("run", "")) for s in down["steps"])
    assert 'liveness-infra teardown --stack "$STACK" --yes' in teardown
    checkout = next(s for s in down["steps"] if "checkout" in str(s.get("uses", "")))
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.ref }}"


def test_sweeper_runs_on_a_schedule_and_tears_down_only_closed_pull_requests():
    doc = load(WORKFLOWS_DIR / "sweeper.yml")
    assert doc["on"]["schedule"] and "workflow_dispatch" in doc["on"]
    pick = " ".join(str(s.get("run", "")) for s in doc["jobs"]["select"]["steps"])
    assert "python -m infra.lifecycle.ephemeral expired" in pick and "CLOSED|MERGED)" in pick
    sweep = doc["jobs"]["sweep"]
    assert sweep["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.select.outputs.stacks) }}"
    assert "liveness-infra teardown" in " ".join(str(s.get("run", "")) for s in sweep["steps"])


def _secret_refs(value) -> set[str]:
    return set(re.findall(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)", yaml.safe_dump(value)))


def test_secrets_are_environment_scoped_and_pull_requests_never_get_deploy_credentials():
    """Review finding 2: PR code must not see a Pulumi token or passphrase that can change dev/staging/prod."""
    for path in WORKFLOWS:
        doc = load(path)
        assert not _secret_refs(doc.get("env", {})), f"{path.name}: secrets in the workflow-level env reach every job"
        pr_triggered = "pull_request" in doc["on"]
        for job_id, job in doc["jobs"].items():
            used = _secret_refs(job) - {"GITHUB_TOKEN"}
            if not used:
                continue
            env = job.get("environment")
            assert env, f"{path.name}/{job_id}: uses {sorted(used)} without a GitHub environment to scope them"
            if pr_triggered:
                assert env == "preview", f"{path.name}/{job_id}: a pull-request job must use the preview environment, not {env!r}"
    deploy = load(WORKFLOWS_DIR / "deploy.yml")
    for stack in ("dev", "staging", "prod"):
        assert deploy["jobs"][stack]["environment"] == stack
        assert {"PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"} <= _secret_refs(deploy["jobs"][stack]["env"])
    # The live PR preview gets a read-only token and no passphrase at all.
    preview = load(WORKFLOWS_DIR / "preview.yml")["jobs"]["preview"]
    assert _secret_refs(preview) == {"PULUMI_PREVIEW_TOKEN"}
    assert "vars.PR_LIVE_PREVIEW != 'false'" in preview["if"]


def test_the_test_workflow_runs_ci_run_on_pull_requests_and_pushes_with_no_secrets():
    doc = load(WORKFLOWS_DIR / "test.yml")
    assert "pull_request" in doc["on"] and "push" in doc["on"]
    assert doc["permissions"] == {"contents": "read"}
    assert "secrets." not in (WORKFLOWS_DIR / "test.yml").read_text()
    for job in doc["jobs"].values():
        assert job.get("permissions", {"contents": "read"}) == {"contents": "read"} and "environment" not in job
    runs = [s.get("run") for job in doc["jobs"].values() for s in job["steps"]]
    assert "bash .ci/run" in runs
    assert (ROOT / ".ci" / "run").is_file()
