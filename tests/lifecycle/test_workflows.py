"""The GitHub workflows: actionlint passes on every one, and the lifecycle rules hold in them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from infra.stackfile import stack_names
from tests.lifecycle.tools import ROOT, Actionlint

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
    assert {"preview.yml", "deploy.yml", "preview-env.yml", "sweeper.yml", "plan-comment.yml"} <= names


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
    long_lived = sorted(s for s in stack_names() if s != "pr")
    for job_id in ("offline-plan", "preview"):
        assert sorted(doc["jobs"][job_id]["strategy"]["matrix"]["stack"]) == long_lived
    preview = doc["jobs"]["preview"]
    assert preview["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert preview["permissions"]["id-token"] == "write"
    pulumi = [s for s in preview["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert len(pulumi) == 1
    w = pulumi[0]["with"]
    assert (w["command"], w["stack-name"], w["diff"], w["comment-on-pr"], w["edit-pr-comment"]) == (
        "preview", "${{ matrix.stack }}", True, True, True)
    offline = doc["jobs"]["offline-plan"]
    assert "if" not in offline, "the offline plan must run for fork pull requests too"
    runs = " ".join(str(s.get("run", "")) for s in offline["steps"])
    assert "liveness-infra plan" in runs and "--format markdown" in runs and "--base" in runs
    assert not any("azure/login" in str(s.get("uses", "")) for s in offline["steps"])


def test_fork_plans_are_posted_by_a_workflow_that_never_runs_pull_request_code():
    doc = load(WORKFLOWS_DIR / "plan-comment.yml")
    assert doc["on"]["workflow_run"]["workflows"] == [load(WORKFLOWS_DIR / "preview.yml")["name"]]
    job = doc["jobs"]["comment"]
    assert "head_repository.full_name != github.repository" in job["if"]
    assert not any("checkout" in str(s.get("uses", "")) or "run" in s for s in job["steps"])
    script = next(s for s in job["steps"] if "github-script" in str(s.get("uses", "")))["with"]["script"]
    assert "head.sha !== sha" in script and "liveness-offline-plan:" in script


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
    assert (ROOT / "stacks" / "Pulumi.pr.yaml").is_file()
    teardown = " ".join(str(s.get("run", "")) for s in down["steps"])
    assert 'liveness-infra teardown --stack "$STACK" --yes' in teardown
    checkout = next(s for s in down["steps"] if "checkout" in str(s.get("uses", "")))
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.ref }}"


def test_sweeper_runs_on_a_schedule_and_tears_down_only_closed_pull_requests():
    doc = load(WORKFLOWS_DIR / "sweeper.yml")
    assert doc["on"]["schedule"] and "workflow_dispatch" in doc["on"]
    pick = " ".join(str(s.get("run", "")) for s in doc["jobs"]["select"]["steps"])
    assert "python -m infra.ephemeral expired" in pick and "CLOSED|MERGED)" in pick
    sweep = doc["jobs"]["sweep"]
    assert sweep["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.select.outputs.stacks) }}"
    assert "liveness-infra teardown" in " ".join(str(s.get("run", "")) for s in sweep["steps"])
