"""Benchmark: `liveness-infra logs --file` on a large access log.

Builds a log of N lines by repeating the entries of tests/logs/data/proxy-serve-access.log (a real
`proxy serve` recording), then runs the real command in a fresh process several times and prints
the median, min and max wall time and the lines per second. Not a test: figures depend on the machine.

    .venv/bin/python benchmarks/logs_bench.py [--lines N] [--runs R]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "logs" / "data" / "proxy-serve-access.log"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    entries = [line for line in RECORDED.read_text().splitlines(keepends=True) if line.startswith("{")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "access.log"
        with open(path, "w") as out:
            for i in range(args.lines):
                out.write(entries[i % len(entries)])
        size = path.stat().st_size
        times = []
        for _ in range(args.runs):
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "infra.cli", "logs", "--file", str(path), "--json"],
                                  cwd=ROOT, capture_output=True, text=True, timeout=600)
            times.append(time.monotonic() - started)
            if done.returncode != 0:
                raise SystemExit(f"logs --file failed ({done.returncode}): {done.stderr.strip()}")
    median = statistics.median(times)
    print(f"logs --file, {args.lines} lines ({size / 1e6:.0f} MB), {args.runs} runs: "
          f"median {median:.2f} s (min {min(times):.2f}, max {max(times):.2f}), {args.lines / median:,.0f} lines/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
