"""`liveness-infra plan`: the offline plan of a stack, and its diff against another git ref.

The program is evaluated under Pulumi's mock runtime (infra/plan/offline.py): no Pulumi CLI, no
credentials. Output: text (default), `--json` (a list of objects with keys `type`, `name`,
`parent`, `inputs`; findings go to stderr) or `--markdown` (for a pull-request comment).

`--base REF` evaluates the same stack as of git ref REF in a separate process, on a copy of that
tree (`git archive`), and prints what would be added, changed and removed.

Exit status: 0 when no invariant is broken, 1 when there is an error finding, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, Optional

from infra.plan import locks as lock_rules
from infra.plan import diff as plan_diff
from infra.plan import normalize as plan_normalize
from infra.plan import render as plan_render
from infra.cli_args import add_json_argument, add_stack_argument, add_template_argument
from infra.errors import UserError, shorten
from infra.stackfiles.document import SECRET_PLACEHOLDER
from infra.stackfiles.files import PROJECT_ROOT
from infra.stackfiles.names import config_template, validate_stack_name

BASE_TIMEOUT_SECONDS = 180
EXIT_FINDINGS = 1
# Where a tree keeps the offline evaluation: the current layout first, then the older flat one.
OFFLINE_MODULES = ("plan/offline.py", "offline.py")

# Runs inside the extracted base tree (PYTHONPATH = that tree): it relies only on the stable
# `evaluate_stack` contract (infra/plan/offline.py, or infra/offline.py in trees older than the
# infra/plan package), not on this module, which the base may not have.
_BASE_SCRIPT = r"""
import json, os, sys
root, stack, template, out = sys.argv[1:5]
import infra
if not os.path.realpath(infra.__file__).startswith(os.path.realpath(root) + os.sep):
    sys.exit("the base tree's infra package was not the one imported: " + infra.__file__)
try:
    from infra.plan.offline import evaluate_stack
except ImportError:
    from infra.offline import evaluate_stack
ev = evaluate_stack(stack, template) if template else evaluate_stack(stack)
g = getattr
doc = {
    "resources": [
        {"type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs, "protect": bool(g(r, "protect", False))}
        for r in ev.resources
    ],
    "findings": [
        {"severity": g(f, "severity", "error"), "invariant": g(f, "invariant", ""), "message": g(f, "message", ""),
         "resource": g(f, "resource", None)}
        for f in g(ev, "findings", [])
    ],
}
with open(out, "w") as fh:
    json.dump(doc, fh, default=str)
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plan",
        help="print the planned resources and security findings of a stack, offline",
        description=(
            "Evaluate the Pulumi program for a stack under the mock runtime (no credentials) and print "
            "every planned resource (type, logical name, parent, inputs with secrets as [secret]) and the "
            "security findings (the invariants of docs/invariants.md). With --base REF, print what changes against the "
            "plan of git ref REF instead. Exit 1 when an invariant is broken."
        ),
    )
    add_stack_argument(p)
    output = p.add_mutually_exclusive_group()
    add_json_argument(output, holds=(
        "the resources as a list of {type, name, parent, inputs}, with the findings on stderr; with --base, "
        "one object holding the changes and the findings"))
    output.add_argument("--markdown", action="store_true", help="print Markdown, for a pull-request comment (default: text)")
    p.add_argument("--base", metavar="REF", help="git ref (branch, tag, commit) to diff against, e.g. origin/main")
    add_template_argument(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    stack = validate_stack_name(args.stack)
    template = config_template(stack, args.template)
    base_eval = BaseEvaluation(args.base, stack, template).start() if args.base is not None else None
    try:
        from infra.plan.offline import evaluate_stack

        evaluation = evaluate_stack(stack, template)
    except BaseException:
        if base_eval is not None:
            base_eval.close()
        raise
    resources = plan_normalize.stable_order(plan_normalize.as_resources(evaluation.resources))
    findings = plan_normalize.as_findings(evaluation.findings)
    findings += plan_normalize.placeholder_leaks(resources, SECRET_PLACEHOLDER)

    if base_eval is not None:
        base_label, base = base_eval.label, base_eval.result()
        base_resources = base["resources"] if base else []
        base_findings = plan_normalize.as_findings(base["findings"]) if base else []
        if base is None:
            base_label += ", where this stack does not exist yet"
        diff = plan_diff.diff_plans(base_resources, resources)
        findings += [
            plan_normalize.as_finding({"severity": "error", "invariant": lock_rules.LOCKED_CHANGE, "message": message, "resource": name})
            for name, message in lock_rules.locked_changes(
                plan_normalize.as_resources(base_resources), diff.removed, diff.changed, stack)]
        if args.json:
            doc = {"stack": stack, "base": base_label, **diff.as_json(), "findings": [dataclasses.asdict(f) for f in findings]}
            _out(json.dumps(doc, indent=2) + "\n")
        elif args.markdown:
            _out(plan_render.render_diff_markdown(stack, base_label, diff, findings, base_findings))
        else:
            _out(plan_render.render_diff_text(stack, base_label, diff, findings, base_findings))
    else:
        rows = plan_diff.key_settings(evaluation.settings)
        if args.json:
            _out(json.dumps(plan_normalize.plan_json(resources), indent=2, sort_keys=True) + "\n")
            for f in findings:
                print(f"finding: {plan_render.finding_line(f)}", file=sys.stderr)
        elif args.markdown:
            _out(plan_render.render_markdown(stack, resources, findings, rows))
        else:
            _out(plan_render.render_text(stack, resources, findings, rows))
    return EXIT_FINDINGS if plan_normalize.errors(findings) else 0


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# The plan of another git ref
# ---------------------------------------------------------------------------------------------


def _git(args: list[str], repo: Path, binary: bool = False) -> subprocess.CompletedProcess:
    if shutil.which("git") is None:
        raise UserError("--base: needs git on PATH to read another ref")
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=not binary, timeout=120, check=False)


def resolve_ref(ref: str, repo: Path = PROJECT_ROOT) -> str:
    if not ref or ref.startswith("-"):
        raise UserError(f"--base: received {shorten(ref)}; expected a git ref such as origin/main or a commit id")
    done = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    if done.returncode != 0:
        raise UserError(f"--base: received {shorten(ref)}; expected a git ref that exists in {repo} (fetch it first, "
                        "e.g. git fetch origin main)")
    return done.stdout.strip()


def extract_tree(sha: str, dest: Path, repo: Path = PROJECT_ROOT) -> None:
    done = _git(["archive", "--format=tar", sha], repo, binary=True)
    if done.returncode != 0:
        raise UserError(f"--base: git archive {sha[:12]} failed: {done.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            tar.extractall(dest)


class BaseEvaluation:
    """The plan of `stack` as of git ref `ref`, evaluated in a child process.

    `start()` extracts the tree and launches the child; `result()` waits for it. In between the
    caller evaluates the working tree, so the two evaluations run side by side.
    """

    def __init__(self, ref: str, stack: str, template: Optional[str], repo: Path = PROJECT_ROOT):
        self.ref, self.stack, self.template, self.repo = ref, stack, template, repo
        self.label = ref
        self._tmp: Optional[tempfile.TemporaryDirectory] = None
        self._proc: Optional[subprocess.Popen] = None
        self._missing = False

    def start(self) -> "BaseEvaluation":
        sha = resolve_ref(self.ref, self.repo)
        self.label = f"{self.ref} ({sha[:10]})"
        self._tmp = tempfile.TemporaryDirectory(prefix="liveness-plan-base-")
        tmp = Path(self._tmp.name)
        tree = tmp / "tree"
        tree.mkdir()
        extract_tree(sha, tree, self.repo)
        own = (tree / "stacks" / f"Pulumi.{self.stack}.yaml").is_file()
        template = self.template
        if template and not (tree / "stacks" / f"Pulumi.{template}.yaml").is_file():
            template = None
        if not own and not template:
            self._missing = True
            return self
        if not any((tree / "infra" / where).is_file() for where in OFFLINE_MODULES):
            self.close()
            raise UserError(f"--base: {self.label} has no infra/plan/offline.py, so its plan cannot be evaluated offline")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env["PYTHONPATH"] = str(tree)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self._out = tmp / "plan.json"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _BASE_SCRIPT, str(tree), self.stack, template or "", str(self._out)],
            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        return self

    def result(self) -> Optional[dict[str, Any]]:
        """{"resources": [...], "findings": [...]}, or None when the stack does not exist at the ref."""
        try:
            if self._missing:
                return None
            assert self._proc is not None, "start() first"
            try:
                _, stderr = self._proc.communicate(timeout=BASE_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.communicate()
                raise UserError(f"--base: evaluating stack {self.stack!r} at {self.label} took longer than "
                                f"{BASE_TIMEOUT_SECONDS} s") from None
            if self._proc.returncode != 0 or not self._out.is_file():
                last = (stderr.strip().splitlines() or ["no error output"])[-1]
                raise UserError(f"--base: evaluating stack {self.stack!r} at {self.label} failed: {last}")
            return json.loads(self._out.read_text())
        finally:
            self.close()

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.communicate()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
