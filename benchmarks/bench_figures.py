"""Pure: the figures of `benchmarks/proxy_bench.py` — parsing, summarising, judging, printing.

No processes and no I/O here: wrk's output and /proc/<pid>/stat text come in as strings, samples
come in as lists, tables go out as strings. `tests/unit/test_bench_peer.py` covers it.
"""

from __future__ import annotations

import json
import re
import statistics
from typing import Callable
from dataclasses import asdict, dataclass, field

TARGET_NAMES = ("direct", "shipped", "haproxy")
PROXIES = ("shipped", "haproxy")
MODES = ("pinned", "shared")
LABELS = {"direct": "direct to the upstream", "shipped": "shipped nginx config",
          "haproxy": "HAProxy 2.6 peer"}

# The proxy's performance targets, each relative to HAProxy in the same run (absolute figures drift with the
# shared machine; the peer drifts with them).
CPU_RATIO_MAX = 1.10          # CPU µs per request <= 1.1x HAProxy's
THROUGHPUT_RATIO_MIN = 0.95   # pinned req/s >= 0.95x HAProxy's
P99_RATIO_MAX = 1.5           # p99 added at one connection <= 1.5x HAProxy's
RSS_GROWTH_MAX_MB = 16.0      # nginx worker RSS growth while a 6 MB body streams
# Below wrk's noise a latency ratio means nothing: added latency under 10 µs counts as 10 µs.
ADDED_FLOOR_MS = 0.010

# The line the wrk Lua script (WRK_SCRIPT in proxy_bench.py) prints from done().
_WRK_LINE = re.compile(r"^BENCH (\{.*\})$", re.MULTILINE)
_WRK_KEYS = ("requests", "duration_us", "p50_us", "p99_us", "errors", "non2xx")


def parse_wrk(stdout: str) -> dict:
    """The BENCH JSON line of a wrk run as a dict with ``rps`` added; ValueError if absent."""
    match = _WRK_LINE.search(stdout)
    if not match:
        raise ValueError("no BENCH line in wrk's output")
    result = json.loads(match.group(1))
    missing = [key for key in _WRK_KEYS if key not in result]
    if missing or result["duration_us"] <= 0:
        raise ValueError(f"wrk's BENCH line lacks {missing or 'a duration'}")
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def cpu_ticks(stat: str) -> int:
    """utime + stime (clock ticks) from the text of /proc/<pid>/stat (all threads included).

    The command name (field 2) is in parentheses and may hold spaces, so fields are counted
    after the last ')': utime and stime are fields 14 and 15 of the whole line.
    """
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def count_lines(text: str) -> int:
    return text.count("\n")


@dataclass(frozen=True)
class Spread:
    """Median of a sample with its minimum and maximum."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> "Spread | None":
        values = [v for v in values if v is not None]
        if not values:
            return None
        return cls(statistics.median(values), min(values), max(values), len(values))

    def show(self, fmt: str, scale: float = 1.0, sign: bool = False) -> str:
        plus = "+" if sign else ""
        spec = f"{plus}{fmt}"
        mid = format(self.median * scale, spec)
        if self.n == 1:
            return mid
        return f"{mid} ({format(self.low * scale, spec)}–{format(self.high * scale, spec)})"


@dataclass
class Samples:
    """Per-round samples of one target in one mode (lists stay aligned by round)."""

    p50_1: list[float] = field(default_factory=list)        # ms, one connection
    p99_1: list[float] = field(default_factory=list)
    p50_200: list[float] = field(default_factory=list)      # ms, 200 connections
    p99_200: list[float] = field(default_factory=list)
    rps: list[float] = field(default_factory=list)          # req/s at 200 connections
    cpu_us_per_req: list[float] = field(default_factory=list)
    new_conns_per_1000: list[float] = field(default_factory=list)
    errors: int = 0


def samples_to_dict(samples: dict[str, Samples]) -> dict[str, dict]:
    return {name: asdict(s) for name, s in samples.items()}


def samples_from_dict(data: dict[str, dict]) -> dict[str, Samples]:
    """Inverse of :func:`samples_to_dict` (for ``--load``); every target must be present."""
    missing = [name for name in TARGET_NAMES if name not in data]
    if missing:
        raise ValueError(f"no samples for {', '.join(missing)}")
    return {name: Samples(**data[name]) for name in TARGET_NAMES}


def summarise(samples: dict[str, Samples]) -> dict[str, dict[str, Spread | int | None]]:
    """Medians with spread per target; latencies as added over direct in the same round."""
    direct = samples["direct"]
    out: dict[str, dict] = {}
    for name, s in samples.items():
        def added(mine: list[float], base: list[float]) -> list[float]:
            return [m - b for m, b in zip(mine, base)]

        out[name] = {
            "rps": Spread.of(s.rps),
            "pct_of_direct": Spread.of([r / d for r, d in zip(s.rps, direct.rps) if d > 0]),
            "p50_1": Spread.of(s.p50_1), "p99_1": Spread.of(s.p99_1),
            "p50_200": Spread.of(s.p50_200), "p99_200": Spread.of(s.p99_200),
            "p50_1_added": Spread.of(added(s.p50_1, direct.p50_1)),
            "p99_1_added": Spread.of(added(s.p99_1, direct.p99_1)),
            "p50_200_added": Spread.of(added(s.p50_200, direct.p50_200)),
            "p99_200_added": Spread.of(added(s.p99_200, direct.p99_200)),
            "cpu_us_per_req": Spread.of(s.cpu_us_per_req),
            # Share of one CPU the proxy processes used during the run: on a machine busy with
            # other work, throughput is this share divided by the CPU cost per request.
            "cpu_share": Spread.of([c * r / 1e6 for c, r in zip(s.cpu_us_per_req, s.rps)]),
            "new_conns_per_1000": Spread.of(s.new_conns_per_1000),
            "errors": s.errors,
        }
    return out


@dataclass(frozen=True)
class Verdict:
    name: str
    mode: str
    ratio: float
    limit: float
    at_most: bool   # True: ratio must be <= limit; False: ratio must be >= limit
    note: str = ""  # e.g. why the figure is within the machine's noise
    count: bool = False  # an absolute count (e.g. non-2xx responses), not a ratio to HAProxy

    @property
    def met(self) -> bool:
        return self.ratio <= self.limit if self.at_most else self.ratio >= self.limit

    def show(self) -> str:
        sign = "≤" if self.at_most else "≥"
        note = f" ({self.note})" if self.note else ""
        if self.count:
            return f"{self.ratio:.0f} (target {sign} {self.limit:.0f}) {'MET' if self.met else 'MISSED'}{note}"
        return f"{self.ratio:.2f}× (target {sign} {self.limit}×) {'MET' if self.met else 'MISSED'}{note}"


def _p99_noise(direct: dict, peer: dict) -> str:
    """A warning when direct's own p99 at one connection moved between rounds by more than the
    peer's added p99: then the added figures (and their ratio) are within the machine's noise."""
    spread = direct["p99_1"].high - direct["p99_1"].low
    if direct["p99_1"].n > 1 and spread > max(peer["p99_1_added"].median, ADDED_FLOOR_MS):
        return f"noisy: direct's p99 varied {spread:.3f} ms between rounds"
    return ""


def verdicts(summary: dict[str, dict[str, dict]]) -> list[Verdict]:
    """The three performance targets, shipped vs HAProxy, from the medians of each mode."""
    out: list[Verdict] = []
    for mode in MODES:
        if mode not in summary:
            continue
        shipped, peer = summary[mode]["shipped"], summary[mode]["haproxy"]
        if shipped["cpu_us_per_req"] and peer["cpu_us_per_req"]:
            out.append(Verdict("CPU µs per request", mode,
                               shipped["cpu_us_per_req"].median / peer["cpu_us_per_req"].median,
                               CPU_RATIO_MAX, True))
        out.append(Verdict("non-2xx and socket errors (shipped)", mode, float(shipped["errors"]),
                           0, True, note=f"HAProxy: {peer['errors']}", count=True))
        if mode == "pinned":
            out.append(Verdict("throughput at load", mode,
                               shipped["rps"].median / peer["rps"].median,
                               THROUGHPUT_RATIO_MIN, False))
        # Other work on a shared machine only ever adds latency, so the tail each target reaches
        # in its best round is the one it owns: p99 added = best p99 - direct's best p99.
        direct = summary[mode]["direct"]
        out.append(Verdict("p99 added at 1 connection (best round)", mode,
                           max(shipped["p99_1"].low - direct["p99_1"].low, ADDED_FLOOR_MS)
                           / max(peer["p99_1"].low - direct["p99_1"].low, ADDED_FLOOR_MS),
                           P99_RATIO_MAX, True, _p99_noise(direct, peer)))
    return out


_COLUMNS = ("target", "req/s at load", "% of direct", "p50 / p99 added, 1 conn (ms)",
            "p50 / p99 added at load (ms)", "proxy CPU µs/req", "proxy CPU use (% of a CPU)",
            "new upstream conns /1000 req",
            "errors")


def _row(name: str, f: dict) -> list[str]:
    def pair(a: str, b: str, direct_a: str, direct_b: str) -> str:
        if name == "direct":  # the baseline: absolute latencies
            return f"abs. {f[direct_a].show('.3f')} / {f[direct_b].show('.3f')}"
        return f"{f[a].show('.3f', sign=True)} / {f[b].show('.3f', sign=True)}"

    pct = f["pct_of_direct"]
    return [LABELS[name], f["rps"].show(",.0f"),
            "100" if name == "direct" else pct.show(".0f", 100),
            pair("p50_1_added", "p99_1_added", "p50_1", "p99_1"),
            pair("p50_200_added", "p99_200_added", "p50_200", "p99_200"),
            f["cpu_us_per_req"].show(".1f") if f["cpu_us_per_req"] else "—",
            f["cpu_share"].show(".0f", 100) if f["cpu_share"] else "—",
            f["new_conns_per_1000"].show(".1f") if f["new_conns_per_1000"] else "—",
            str(f["errors"])]


def markdown_table(mode_summary: dict[str, dict]) -> str:
    rows = [_COLUMNS, tuple("---" for _ in _COLUMNS)]
    rows += [tuple(_row(name, mode_summary[name])) for name in TARGET_NAMES if name in mode_summary]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows)


def compact_table(results: dict[str, dict[str, dict]]) -> str:
    """Medians only, the proxies of every mode: the short table for docs/proxy.md ("In short")."""
    rows = ["| mode | target | req/s at load (% of direct) | p99 added, 1 conn, best round (ms) "
            "| CPU µs / request | new upstream conns / 1,000 req |",
            "| --- | --- | --- | --- | --- | --- |"]
    for mode, summary in results.items():
        best_direct = summary["direct"]["p99_1"].low
        for name in PROXIES:
            f = summary[name]
            rows.append(f"| {mode} | {LABELS[name]} | {f['rps'].median:,.0f} "
                        f"({f['pct_of_direct'].median:.0%}) | {f['p99_1'].low - best_direct:+.3f} "
                        f"| {f['cpu_us_per_req'].median:.1f} | {f['new_conns_per_1000'].median:.1f} |")
    return "\n".join(rows)


def text_table(mode_summary: dict[str, dict]) -> str:
    rows = [_COLUMNS] + [tuple(_row(n, mode_summary[n])) for n in TARGET_NAMES if n in mode_summary]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def verdict_lines(found: list[Verdict], markdown: bool) -> list[str]:
    if markdown:
        lines = ["| target (shipped vs HAProxy, same run) | mode | result |", "| --- | --- | --- |"]
        lines += [f"| {v.name} | {v.mode} | {v.show().replace('MET', '**MET**').replace('MISSED', '**MISSED**')} |"
                  for v in found]
        return lines
    return [f"  {v.name:<32} {v.mode:<7} {v.show()}" for v in found]


def to_jsonable(summary: dict) -> dict:
    """Spreads as {median, min, max, n} for --json."""
    def conv(value):
        if isinstance(value, Spread):
            return {"median": value.median, "min": value.low, "max": value.high, "n": value.n}
        if isinstance(value, dict):
            return {k: conv(v) for k, v in value.items()}
        return value
    return conv(summary)


# --------------------------------------------------------------------------------------------
# The production-day figures (benchmarks/bench_day.py): one dict per round, summarised here.

DAY_TARGETS = ("shipped", "haproxy")


def _status_text(statuses: list[dict]) -> str:
    """Status counts over the rounds, e.g. "200×90, 429×210" (0 means no response)."""
    total: dict[str, int] = {}
    for one in statuses:
        for code, n in one.items():
            key = "no answer" if str(code) == "0" else str(code)
            total[key] = total.get(key, 0) + n
    return ", ".join(f"{code}×{n}" for code, n in sorted(total.items()))


# One production-day figure from the rounds of one scenario and target: (figure, values, format,
# goal, met (None: shown, not judged), responses).
DayFigure = tuple[str, list[float], str, str, bool | None, str]


def _upload_flood(got: list[dict], half: float) -> DayFigure:
    peak = [g["peak_rss_mb"] for g in got]
    return (f"peak RSS, {got[0]['uploads']} slow chunked uploads of {got[0]['body_mb']} MB "
            "from one client (MB)", peak, ".0f", f"≤ {half:.0f} (half the replica)",
            max(peak) <= half, _status_text([g["statuses"] for g in got]))


def _drain(got: list[dict]) -> DayFigure:
    done = [g["completed"] for g in got]
    return (f"uploads answered across SIGTERM to the container's command "
            f"(of {got[0]['in_flight']} in flight)", done, "d",
            f"= {got[0]['in_flight']}", min(done) == got[0]["in_flight"],
            _status_text([g["statuses"] for g in got]) + "; health after the signal: "
            + "/".join(str(g["health_after_stop"]) for g in got) + "; exit after "
            + "/".join("—" if g["exit_seconds"] is None else f"{g['exit_seconds']} s" for g in got))


# A reset as the request arrives: the request's bytes reached Face's socket, and a proxy cannot
# tell that from a reset after Face read them, so a 502 is the safe answer (never a re-send):
# shown, not judged. A close right after answering: no byte of the next request can reach
# Face, so every 502 there is a retry the proxy could safely have made.
def _stale(how: str, judged: bool) -> Callable[[list[dict]], DayFigure]:
    def figure(got: list[dict]) -> DayFigure:
        bad = [g["502"] for g in got]
        return (f"502s when Face {how} (of {got[0]['requests']} sequential requests)", bad, "d",
                "= 0" if judged else "shown, not judged (no safe retry)",
                max(bad) == 0 if judged else None, _status_text([g["statuses"] for g in got]))
    return figure


def _connection_flood(got: list[dict]) -> DayFigure:
    answered = [g["ok"] for g in got]
    return (f"another client's requests answered 200 while one address holds "
            f"{got[0]['flood']} connections (of {got[0]['probes']})", answered, "d",
            f"= {got[0]['probes']}", min(answered) == got[0]["probes"],
            _status_text([g["statuses"] for g in got]))


def _day_row(target: str, figure: DayFigure) -> dict:
    """One row: the median with its spread; counts that differ between rounds are flagged."""
    name, values, fmt, goal, met, detail = figure
    spread = Spread.of(values)
    note = ""
    if spread and spread.n > 1 and spread.low != spread.high and fmt == "d":
        note = "rounds differ: timing on this machine sets the count"
    return {"figure": name, "target": target,
            "value": spread.show(".0f" if fmt == "d" else fmt) if spread else "—",
            "goal": goal, "met": met, "detail": detail, "note": note}


def summarise_day(rounds: list[dict], memory_limit_mb: float) -> list[dict]:
    """Rows of the production-day table: figure, target, median (spread), goal, met, note.

    Counts that differ between rounds are flagged: the machine's timing, not the proxy alone,
    sets them. `memory_limit_mb` is the dev replica's memory; the goal is half of it.
    """
    half = memory_limit_mb / 2
    floods = sorted(k for k in (rounds[0] if rounds else {}) if k.startswith("flood_"))
    scenarios: list[tuple[str, Callable[[list[dict]], DayFigure]]] = [
        *((key, lambda got: _upload_flood(got, half)) for key in floods),
        ("drain", _drain),
        ("stale", _stale("resets a pooled connection as the next request arrives", False)),
        ("stale_fin", _stale("closes a pooled connection right after answering", True)),
        ("connflood", _connection_flood),
    ]
    rows: list[dict] = []
    for key, figure in scenarios:
        for target in DAY_TARGETS:
            got = [r[key][target] for r in rounds if target in r.get(key, {})]
            if got:
                rows.append(_day_row(target, figure(got)))
    return rows


def day_lines(rows: list[dict], markdown: bool) -> list[str]:
    def verdict(r: dict) -> str:
        if r["met"] is None:
            return ""
        word = "MET" if r["met"] else "MISSED"
        return f"**{word}**" if markdown else word

    if markdown:
        out = ["| production-day figure | target | median (min–max) | goal | result | responses; notes |",
               "| --- | --- | --- | --- | --- | --- |"]
        for r in rows:
            notes = "; ".join(x for x in (r["detail"], r["note"]) if x)
            out.append(f"| {r['figure']} | {LABELS[r['target']]} | {r['value']} | {r['goal']} "
                       f"| {verdict(r)} | {notes} |")
        return out
    out = []
    for r in rows:
        notes = "; ".join(x for x in (r["detail"], r["note"]) if x)
        out.append(f"  {r['figure']}\n    {LABELS[r['target']]:<22} {r['value']:<18} goal {r['goal']:<26} "
                   f"{verdict(r):<7} {notes}")
    return out
