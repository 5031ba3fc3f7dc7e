"""Benchmark: how long `liveness-infra plan` takes per stack (target: ≤ 3 s for prod).

Runs the real command in a fresh process each time (imports included, as a user or CI pays them)
and prints best and median wall time per stack. Not a test: figures depend on the machine.

    .venv/bin/python benchmarks/plan_bench.py [--runs N] [--stack NAME ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 3.0


def time_plan(stack: str, fmt: str) -> float:
    started = time.monotonic()
    output = [] if fmt == "text" else [f"--{fmt}"]
    done = subprocess.run([sys.executable, "-m", "infra.cli", "plan", "--stack", stack, *output],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1):  # 1: findings, still a complete plan
        raise SystemExit(f"plan --stack {stack} failed ({done.returncode}): {done.stderr.strip()}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per stack (default 5)")
    parser.add_argument("--stack", action="append", help="stack to time (repeatable; default prod)")
    parser.add_argument("--output", default="text", choices=("text", "json", "markdown"),
                        help="the plan's output: text (default), --json or --markdown")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f"--runs: received {args.runs}; expected 1 or more")
    print(f"liveness-infra plan ({args.output}), {args.runs} runs each (fresh process per run)")
    for stack in args.stack or ["prod"]:
        times = [time_plan(stack, args.output) for _ in range(args.runs)]
        best, median = min(times), statistics.median(times)
        verdict = "meets" if median <= TARGET_SECONDS else "misses"
        print(f"  {stack:8} best {best:.2f} s  median {median:.2f} s  ({verdict} the {TARGET_SECONDS:.0f} s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
