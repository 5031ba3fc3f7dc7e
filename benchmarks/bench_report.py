"""The benchmark's report: the run's header (machine, versions) and the figures as text, Markdown or
JSON, with the verdicts against the targets (the figures themselves are bench_figures.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
from pathlib import Path

from bench_figures import (
    RSS_GROWTH_MAX_MB, compact_table, day_lines, markdown_table, summarise_day, text_table, to_jsonable, verdict_lines,
    verdicts,
)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{len(os.sched_getaffinity(0))} CPUs ({model}), Linux {platform.release()}"


def versions(nginx: str, haproxy_bin: str) -> str:
    nginx_v = subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip()
    haproxy_v = subprocess.run([haproxy_bin, "-v"], capture_output=True, text=True).stdout
    return f"{nginx_v.replace('nginx version: ', '')}, HAProxy {haproxy_v.split()[2]}"


def report(header: dict, results: dict, memory: dict | None, day: list[dict],
           args: argparse.Namespace) -> int:
    found = verdicts(results)
    day_rows = summarise_day(day, header.get("replica_memory_mb", 1024.0)) if day else []
    if args.json:
        print(json.dumps({**header, "modes": to_jsonable(results), "memory_6mb": memory,
                          "day": day_rows,
                          "targets": [dict(name=v.name, mode=v.mode, ratio=v.ratio, limit=v.limit,
                                           met=v.met, note=v.note) for v in found]}, indent=2))
        return 0
    print_report(header, results, found, memory, args.markdown)
    if day_rows:
        print()
        print(f"Production day (dev stack's settings and container command; {len(day)} rounds, "
              "each proxy fresh per scenario, pinned alone on CPU 0):")
        print()
        for line in day_lines(day_rows, args.markdown):
            print(line)
    return 0


def print_report(header: dict, results: dict, found: list, memory: dict | None, md: bool) -> None:
    print(f"{'`' if md else ''}{header['command'].strip()}{'`' if md else ''} — {header['date']}; "
          f"{header['machine']}; {header['versions']}; loopback, 6 KB POST bodies; load "
          f"{header.get('load', 200)} connections (4× the dev stack's concurrency of "
          f"{header.get('concurrency', 50)}); medians of "
          f"{header['rounds']} interleaved rounds (min–max){'  ' if md else ''}")
    if md:
        print()
        print(compact_table(results))
    for mode, summary in results.items():
        title = ("pinned: each proxy alone on CPU 0, wrk and the upstream on the other CPU"
                 if mode == "pinned" else "shared: wrk, the upstream and the proxies on every CPU")
        print()
        print(f"**{title}**" if md else f"{title}:")
        print()
        print(markdown_table(summary) if md else text_table(summary))
    print()
    print("Latencies in ms; direct's are absolute, the proxies' are added over direct in the same "
          "round. New upstream connections are TLS handshakes counted at the upstream stand-in "
          "(for direct: wrk's own). CPU: utime+stime of every proxy process per request.")
    if not md:
        print()
        print("Targets, shipped vs HAProxy in the same run:")
    else:
        print()
    for line in verdict_lines(found, md):
        print(line)
    if memory:
        ok = memory["status"] == 200 and memory["rss_growth_mb"] <= RSS_GROWTH_MAX_MB
        print()
        print(f"6 MB body streamed through the shipped proxy: status {memory['status']}, worker RSS "
              f"growth {memory['rss_growth_mb']} MB from {memory['rss_before_mb']} MB "
              f"(target ≤ {RSS_GROWTH_MAX_MB:g} MB) {'MET' if ok else 'MISSED'}")
